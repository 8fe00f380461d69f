document.documentElement.dataset.release = "v1";
