document.documentElement.dataset.release = "v2"; console.log("catalog v2");
