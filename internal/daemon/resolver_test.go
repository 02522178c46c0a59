package daemon

import (
	"bytes"
	"testing"
)

func TestNXReply(t *testing.T) {
	// A query for kensa-relay-test.example MX, id 0x1234, RD set.
	q := []byte{0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0}
	q = append(q, 16)
	q = append(q, "kensa-relay-test"...)
	q = append(q, 7)
	q = append(q, "example"...)
	q = append(q, 0, 0, 15, 0, 1)
	out, name, ok := nxReply(q)
	if !ok || name != "kensa-relay-test.example." {
		t.Fatalf("%v %q", ok, name)
	}
	if !bytes.Equal(out[:2], q[:2]) || out[2] != 0x85 || out[3] != 0x83 || !bytes.Equal(out[4:6], []byte{0, 1}) ||
		!bytes.Equal(out[6:12], make([]byte, 6)) || !bytes.Equal(out[12:], q[12:]) {
		t.Errorf("reply % x", out)
	}
	for _, bad := range [][]byte{nil, q[:11], append([]byte{0x12, 0x34, 0x81}, q[3:]...), q[:20]} {
		if _, _, ok := nxReply(bad); ok {
			t.Errorf("answered % x", bad)
		}
	}
}
