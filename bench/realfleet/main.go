// Command realfleet plays a fleet of real Debian daemons on loopback
// for bench/real: each host its own address with Postfix or Exim on
// port 25, Dovecot on 143, 993, 110 and 995, OpenSSH on 22 and chrony
// on 123, every daemon with its stock delays and limits (Postfix's
// error sleep and limits, Dovecot's failed-login delay, Exim's limit
// of syntax errors), configured for local name lookups only and
// delivering nothing. It writes the kensa inventory, the truth of the
// items the daemons' configuration decides (A1, P1, S1, S3), and the
// targets for nmap; prints "ready"; and runs until SIGINT or SIGTERM,
// then stops every daemon by its process id.
//
// It uses package internal/daemon, the harness of kensa's integration
// tests. It must run as root (the daemons switch users and bind the
// standard ports).
package main

import (
	"encoding/csv"
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/kensa-inspect/kensa/internal/daemon"
)

// kind is one composition of a host: its daemons and how each is
// configured, with the truth that configuration means.
type kind struct {
	name string
	// exim serves SMTP with Exim instead of Postfix; open relays for
	// the scanner (its address in mynetworks or relay_from_hosts).
	exim, open bool
	// plaintext lets Dovecot take cleartext passwords before TLS.
	plaintext bool
	// passwords lets sshd take passwords.
	passwords bool
	// unsynced runs chrony without a source (it answers leap 3).
	unsynced bool
}

// kinds is the rotation of host compositions: most are well run stock
// Postfix or Exim with Dovecot, a few have one flaw each.
var kinds = []kind{
	{name: "postfix"},
	{name: "exim", exim: true},
	{name: "postfix-ssh-passwords", passwords: true},
	{name: "exim-dovecot-plaintext", exim: true, plaintext: true},
	{name: "postfix-open-relay", open: true},
	{name: "postfix-chrony-unsynced", unsynced: true},
	{name: "postfix"},
	{name: "exim", exim: true},
}

// truth is what a kind's configuration means for the items it decides:
// an open relay fails A1, a closed one passes; Dovecot taking cleartext
// passwords before TLS fails P1, one refusing them passes; sshd taking
// passwords fails S1, publickey only passes; chrony without a source
// (leap 3, an alarm) fails S3, with its local clock at stratum 8 and
// the scanner on the same clock passes.
func (k kind) truth() map[string]string {
	t := map[string]string{"A1": "pass", "P1": "pass", "S1": "pass", "S3": "pass"}
	if k.open {
		t["A1"] = "fail"
	}
	if k.plaintext {
		t["P1"] = "fail"
	}
	if k.passwords {
		t["S1"] = "fail"
	}
	if k.unsynced {
		t["S3"] = "fail"
	}
	return t
}

type stopper interface{ Stop() }

func main() {
	hosts := flag.Int("hosts", 8, "hosts to play")
	net := flag.String("net", "127.1.250", "the first three octets of the hosts' addresses (host i is NET.(i+1))")
	scanner := flag.String("scanner", "127.1.251.1", "the scanner's source address: outside every daemon's trusted networks, except an open relay's")
	dir := flag.String("dir", "", "work directory (required)")
	eximRoot := flag.String("exim-root", "", "directory where Exim was unpacked (required when a host runs Exim)")
	flag.Parse()
	if *dir == "" {
		fail("-dir is required")
	}
	var running []stopper
	stopAll := func() {
		for i := len(running) - 1; i >= 0; i-- {
			running[i].Stop()
		}
	}
	die := func(format string, args ...any) {
		stopAll()
		fail(format, args...)
	}
	inv, err := os.Create(filepath.Join(*dir, "inventory.csv"))
	if err != nil {
		fail("%v", err)
	}
	iw := csv.NewWriter(inv)
	iw.Write([]string{"id", "org", "unit", "host", "services", "declared", "notes"})
	tf, err := os.Create(filepath.Join(*dir, "truth.csv"))
	if err != nil {
		fail("%v", err)
	}
	tw := csv.NewWriter(tf)
	items := []string{"A1", "P1", "S1", "S3"}
	tw.Write(append([]string{"id"}, items...))
	var targets []string
	for i := 0; i < *hosts; i++ {
		k := kinds[i%len(kinds)]
		addr := fmt.Sprintf("%s.%d", *net, i+1)
		if a, err := netip.ParseAddr(addr); err != nil || !a.IsLoopback() {
			die("host address %q is not a loopback address", addr)
		}
		hd := filepath.Join(*dir, fmt.Sprintf("host-%02d", i))
		sub := func(name string) string {
			d := filepath.Join(hd, name)
			if err := os.MkdirAll(d, 0o755); err != nil {
				die("%v", err)
			}
			return d
		}
		trusted := "127.0.0.1/32"
		if k.open {
			trusted += " " + *scanner + "/32"
		}
		if k.exim {
			e, err := daemon.StartExim(daemon.EximConfig{Root: *eximRoot, Dir: sub("exim"), Listen: addr, Port: 25,
				RelayFrom: strings.ReplaceAll(trusted, " ", " : ")})
			if err != nil {
				die("host %d: %v", i, err)
			}
			running = append(running, e)
		} else {
			p, err := daemon.StartPostfix(daemon.PostfixConfig{Dir: sub("postfix"), Listen: addr, Port: 25, MyNetworks: trusted, Stock: true})
			if err != nil {
				die("host %d: %v", i, err)
			}
			running = append(running, p)
		}
		dc, err := daemon.StartDovecot(daemon.DovecotConfig{Dir: sub("dovecot"), Addr: addr, Plaintext: k.plaintext, Stock: true,
			Ports: [4]uint16{143, 993, 110, 995}})
		if err != nil {
			die("host %d: %v", i, err)
		}
		running = append(running, dc)
		sshExtra := "PasswordAuthentication no\nKbdInteractiveAuthentication no"
		if k.passwords {
			sshExtra = "PasswordAuthentication yes\nKbdInteractiveAuthentication no"
		}
		ss, err := daemon.StartOpenSSHOn(sub("ssh"), addr, 22, sshExtra)
		if err != nil {
			die("host %d: %v", i, err)
		}
		running = append(running, ss)
		chronyExtra := "local stratum 8"
		if k.unsynced {
			chronyExtra = ""
		}
		ch, err := daemon.StartChronyOn(sub("chrony"), addr, 123, chronyExtra)
		if err != nil {
			die("host %d: %v", i, err)
		}
		running = append(running, ch)
		id := fmt.Sprintf("real-%02d", i)
		iw.Write([]string{id, "ベンチ", "本省", addr, "smtp:25 imap:143 imaps:993 pop3:110 pop3s:995 ssh:22 ntp:123", "", "real daemons: " + k.name})
		t := k.truth()
		row := []string{id}
		for _, it := range items {
			row = append(row, t[it])
		}
		tw.Write(row)
		targets = append(targets, addr)
	}
	iw.Flush()
	tw.Flush()
	if err := iw.Error(); err != nil {
		die("%v", err)
	}
	if err := tw.Error(); err != nil {
		die("%v", err)
	}
	inv.Close()
	tf.Close()
	if err := os.WriteFile(filepath.Join(*dir, "targets.txt"), []byte(strings.Join(targets, "\n")+"\n"), 0o644); err != nil {
		die("%v", err)
	}
	fmt.Println("ready")
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	<-sig
	stopAll()
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "realfleet: "+format+"\n", args...)
	os.Exit(1)
}
