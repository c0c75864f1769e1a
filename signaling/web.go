package signaling

import (
	"fmt"
	"io/fs"
	"net/http"
)

// contentSecurityPolicy lets the app load from, and talk to, this server
// only (and, in a cluster, open WebSockets to the other nodes, see
// connectSources): no CDN, no third party, no inline script.
const contentSecurityPolicy = "default-src 'self'; connect-src %s; media-src 'self' blob:; " +
	"img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; " +
	"base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// webRoutes serves the browser app: "/" and "/r/{room}" are the
// single-page app's index.html, its files live under /app/.
func (s *Server) webRoutes(files fs.FS) {
	index := func(w http.ResponseWriter, r *http.Request) {
		s.securityHeaders(w)
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, files, "index.html")
	}
	s.mux.HandleFunc("GET /{$}", index)
	s.mux.HandleFunc("GET /r/{room}", index)
	assets := http.StripPrefix("/app/", http.FileServerFS(files))
	s.mux.Handle("GET /app/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.securityHeaders(w)
		w.Header().Set("Cache-Control", "no-cache")
		assets.ServeHTTP(w, r)
	}))
}

func (s *Server) securityHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", fmt.Sprintf(contentSecurityPolicy, s.connectSources()))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	// The app's own page may use the microphone, the camera and screen
	// capture (video); nothing else, and no frame of another origin.
	h.Set("Permissions-Policy", "microphone=(self), camera=(self), display-capture=(self), geolocation=()")
}
