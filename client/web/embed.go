// Package web is Palabre's browser app, embedded in the binary.
//
// The app is plain ES modules and CSS, committed as they are served: no
// build step. The server serves index.html at "/" and "/r/{room}" (the app
// routes on location.pathname) and every other file at "/app/<name>", under
// a strict Content-Security-Policy: no inline script or style, no request to
// any other origin.
package web

import (
	"embed"
	"io/fs"
)

//go:embed static
var static embed.FS

// Files returns the app's files (index.html, app.js, …) rooted at the app directory.
func Files() fs.FS {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // "static" is a valid path: cannot happen
	}
	return sub
}
