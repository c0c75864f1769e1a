// Package admission holds the per-address limits on who may try to get in:
// joins per address, and failure budgets for wrong passwords and organizer
// secrets, per address and per room. It knows nothing of rooms beyond their
// names, and nothing of the network beyond addresses.
package admission
