package report

import (
	"fmt"
	"os"

	"github.com/kensa-inspect/kensa/inventory"
	"github.com/kensa-inspect/kensa/results"
)

// MatchInventory returns the inventory that orders the groups of a
// results set and places the servers of the scan that have no record
// (Outcomes), and a note for the reader ("" when there is nothing to
// say).
//
// path, when not "", is the inventory given: it must load (else the
// loader's error, which names the file and the rows at fault) and is
// used even when it is not the one scanned, with a note saying so.
// Without it, the inventory the records name is used when it is still
// there and unchanged (same digest). When it is gone, unreadable or
// changed, nil is returned, with a note when servers are missing (the
// records are fewer than the inventory the scan read), since those can
// then not be placed. Without any, nil is returned and no note.
func MatchInventory(set *results.Set, path string) (*inventory.Inventory, string, error) {
	if path != "" {
		inv, err := inventory.Load(path)
		if err != nil {
			return nil, "", err
		}
		if d := set.Meta.InventoryDigest; d != "" && d != inv.Digest {
			return inv, fmt.Sprintf("note: inventory %s differs from the one scanned (%s)", path, d), nil
		}
		return inv, "", nil
	}
	p := set.Meta.InventoryPath
	if p == "" {
		return nil, "", nil
	}
	missing := len(set.Records) < set.Meta.InventoryServers
	if _, err := os.Stat(p); err != nil {
		if !missing {
			return nil, "", nil
		}
		return nil, fmt.Sprintf("note: the scanned inventory %s cannot be read (%v); pass --inventory to place missing servers", p, err), nil
	}
	inv, err := inventory.Load(p)
	if err != nil || inv.Digest != set.Meta.InventoryDigest {
		if !missing {
			return nil, "", nil
		}
		return nil, fmt.Sprintf("note: the scanned inventory %s has changed since the scan; pass --inventory to place missing servers", p), nil
	}
	return inv, "", nil
}
