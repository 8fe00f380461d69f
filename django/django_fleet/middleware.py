"""WhiteNoise for a fleet whose STATIC_ROOT is shared and grows with every release.

WhiteNoise scans STATIC_ROOT once, when the worker starts. During a release the new version's
hashed files appear in the shared root while old instances keep running: a CDN that fetches
``js/app.af03944e0dda.js`` through an old instance got a 404 (and cached it). This subclass:

- on a miss under STATIC_URL, looks the file up on disk, for hashed names only
  (``name.<12 hex>.ext``), inside STATIC_ROOT only (no traversal), and remembers it: a
  hashed file never changes, so it is served ``immutable`` like the others;
- re-reads a non-hashed file (``robots.txt``) whose size or mtime changed since start-up
  (checked at most once a second), instead of serving the new content cut to the old length;
- marks every 404 under STATIC_URL ``Cache-Control: no-store`` so the CDN does not keep it;
- serves only files that are inside STATIC_ROOT (and WHITENOISE_ROOT) once symlinks are
  resolved: stock WhiteNoise follows a symlink found in the root at start-up, so a link to
  ``/etc/...`` or to the app's settings would be served. A file (or its ``.gz``/``.br``
  variant) whose real path is outside the root is left out, symlinked directories are not
  descended into, and the file served is the resolved one.

Use it in place of ``whitenoise.middleware.WhiteNoiseMiddleware``.
"""

import os
import re
import stat
import time

from wsgiref.headers import Headers

from whitenoise.middleware import WhiteNoiseMiddleware
from whitenoise.responders import MissingFileError, StaticFile

HASHED_NAME = re.compile(r"\.[0-9a-f]{12}(\.[A-Za-z0-9]+)?$")


class FleetWhiteNoiseMiddleware(WhiteNoiseMiddleware):
    #: Seconds between two checks of a non-hashed file for changes.
    RECHECK_S = 1.0

    def __init__(self, *args, **kwargs):
        self.late_urls = set()
        self.file_paths = {}
        self.last_checked = {}
        self.confined_roots = []
        super().__init__(*args, **kwargs)

    def __call__(self, request):
        response = self.process_request(request)
        if response is None:
            response = self.get_response(request)
            if response.status_code == 404 and request.path_info.startswith(self.static_prefix):
                response["Cache-Control"] = "no-store"
        return response

    def process_request(self, request):
        path = request.path_info
        if self.autorefresh:  # DEBUG: WhiteNoise looks every request up on disk anyway
            static_file = self.find_file(path)
            return self.serve(static_file, request) if static_file is not None else None
        static_file = self.files.get(path)
        if static_file is not None and path not in self.late_urls:
            static_file = self.refresh_if_changed(path, static_file)
        elif static_file is None:
            static_file = self.find_late_file(path)
        if static_file is not None:
            return self.serve(static_file, request)
        return None

    # -- confinement to the roots ---------------------------------------------------------

    def add_files(self, root, prefix=None):
        # Every directory WhiteNoise scans (STATIC_ROOT, WHITENOISE_ROOT) confines what it serves.
        absolute = os.path.abspath(str(root)).rstrip(os.path.sep) + os.path.sep
        self.confined_roots.append((absolute, os.path.realpath(str(root))))
        super().add_files(root, prefix=prefix)

    def update_files_dictionary(self, root, prefix):
        # WhiteNoise's scantree follows symlinked directories (a loop never ends, a link to /
        # lists the whole disk): walk without following them; file links are checked below.
        stat_cache = dict(scan_without_following_directory_links(root))
        for path in stat_cache:
            url = prefix + path[len(root):].replace("\\", "/")
            self.add_file_to_dictionary(url, path, stat_cache=stat_cache)

    def resolve_inside_root(self, path):
        """The real path of ``path`` if it is under a scanned root and stays inside it once
        symlinks are resolved; ``path`` itself if it is under no scanned root (finders in
        DEBUG); ``None`` if it escapes its root."""
        absolute = os.path.abspath(path)
        for lexical, real_root in self.confined_roots:
            if absolute.startswith(lexical):
                real = os.path.realpath(absolute)
                return real if os.path.commonpath([real_root, real]) == real_root else None
        return path

    def get_static_file(self, path, url, stat_cache=None):
        # WhiteNoise's own, but on the resolved paths, and without a variant outside the root.
        real = self.resolve_inside_root(path)
        if real is None or (stat_cache is None and not os.path.exists(path)):
            raise MissingFileError(path)
        headers = Headers([])
        self.add_mime_headers(headers, path, url)
        self.add_cache_headers(headers, path, url)
        if self.allow_all_origins:
            headers["Access-Control-Allow-Origin"] = "*"
        if self.add_headers_function:
            self.add_headers_function(headers, path, url)
        variants = [(path + suffix, self.resolve_inside_root(path + suffix), encoding) for encoding, suffix in (("gzip", ".gz"), ("br", ".br"))]
        encodings = {encoding: resolved for _lexical, resolved, encoding in variants if resolved is not None}
        if stat_cache is not None:  # keyed by the scanned (lexical) paths
            pairs = [(path, real)] + [(lexical, resolved) for lexical, resolved, _encoding in variants if resolved is not None]
            stat_cache = {resolved: stat_cache[lexical] for lexical, resolved in pairs if lexical in stat_cache}
        return StaticFile(real, headers.items(), stat_cache=stat_cache, encodings=encodings)

    # -- bookkeeping ---------------------------------------------------------------------

    def add_file_to_dictionary(self, url, path, stat_cache=None):
        try:
            super().add_file_to_dictionary(url, path, stat_cache=stat_cache)
        except MissingFileError:  # outside its root (or gone): never served
            self.files.pop(url, None)
            self.file_paths.pop(url, None)
            return
        if url in self.files:
            try:
                st = stat_cache[path] if stat_cache and path in stat_cache else os.stat(path)
                self.file_paths[url] = (path, st.st_size, st.st_mtime_ns)
            except OSError:
                pass

    # -- late hashed files ---------------------------------------------------------------

    def is_hashed_url(self, url):
        name = url[len(self.static_prefix):]
        return bool(HASHED_NAME.search(os.path.basename(name)))

    def find_late_file(self, url):
        if not self.static_root or not url.startswith(self.static_prefix):
            return None
        if not self.url_is_canonical(url) or "\x00" in url or not self.is_hashed_url(url):
            return None
        if url.endswith((".gz", ".br")):
            return None
        root = os.path.realpath(str(self.static_root))
        path = os.path.realpath(os.path.join(root, url[len(self.static_prefix):]))
        if os.path.commonpath([root, path]) != root:
            return None
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                return None
        except OSError:
            return None
        self.late_urls.add(url)
        self.add_file_to_dictionary(url, path)
        return self.files.get(url)

    def immutable_file_test(self, path, url):
        if url in self.late_urls:
            return True
        return super().immutable_file_test(path, url)

    # -- changed non-hashed files --------------------------------------------------------

    def refresh_if_changed(self, url, static_file):
        known = self.file_paths.get(url)
        if known is None or self.is_hashed_url(url):
            return static_file
        path, size, mtime_ns = known
        now = time.monotonic()
        if now - self.last_checked.get(url, 0.0) < self.RECHECK_S:
            return static_file  # at most one stat per file and second (STATIC_ROOT may be on EFS)
        self.last_checked[url] = now
        try:
            st = os.stat(path)
        except OSError:
            return static_file
        if st.st_size == size and st.st_mtime_ns == mtime_ns:
            return static_file
        self.add_file_to_dictionary(url, path)
        return self.files.get(url)  # None when it now resolves outside the root (or is gone)


def scan_without_following_directory_links(root):
    """(path, os.stat(path)) for every non-directory under root; symlinked directories are skipped."""
    for entry in os.scandir(root):
        if entry.is_dir(follow_symlinks=False):
            yield from scan_without_following_directory_links(entry.path)
        elif not entry.is_symlink() or not os.path.isdir(entry.path):
            try:
                yield entry.path, entry.stat()
            except OSError:  # a dangling link
                continue
