// Package server assembles a Palabre server: the room store, the media
// engine, the cluster node, the bundled TURN server and the signaling
// server behind one HTTP listener. "palabre serve" and every test harness
// start it the same way, with Start(Options): a setting is added in one
// place, and tests run the production wiring.
//
// Flags and their messages belong to the command (package main); this
// package reports a refused setting, or a part that could not start
// because of one, as a *SettingError naming the field of Options.
package server
