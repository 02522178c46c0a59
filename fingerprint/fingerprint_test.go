package fingerprint

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/kensa-inspect/kensa/observe"
)

type fixture struct {
	Name    string `json:"name"`
	Service string `json:"service"`
	Banners []struct {
		Kind string `json:"kind"`
		Text string `json:"text"`
	} `json:"banners"`
	Want struct {
		Product           string   `json:"product"`
		Version           string   `json:"version"`
		Line              string   `json:"line"`
		Distro            string   `json:"distro"`
		DistroRelease     string   `json:"distro_release"`
		PackageVersion    string   `json:"package_version"`
		OS                *string  `json:"os"`
		ReleaseCandidates []string `json:"release_candidates"`
	} `json:"want"`
}

func loadFixtures(t testing.TB) []fixture {
	b, err := os.ReadFile("testdata/banners.json")
	if err != nil {
		t.Fatal(err)
	}
	var fs []fixture
	if err := json.Unmarshal(b, &fs); err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestFixtures(t *testing.T) {
	fs := loadFixtures(t)
	if len(fs) < 60 {
		t.Fatalf("only %d banner fixtures, want at least 60", len(fs))
	}
	for _, f := range fs {
		t.Run(f.Name, func(t *testing.T) {
			port := map[string]int{"smtp": 25, "imap": 143, "pop3": 110, "ssh": 22, "telnet": 23}[f.Service]
			var bs []observe.Banner
			for _, b := range f.Banners {
				bs = append(bs, observe.Banner{Service: f.Service, Address: "192.0.2.10", Port: port, Kind: b.Kind, Text: b.Text})
			}
			fps := Identify(bs)
			if len(fps) != 1 {
				t.Fatalf("Identify gave %d fingerprints, want 1", len(fps))
			}
			got := fps[0]
			w := f.Want
			check := func(field, got, want string) {
				if got != want {
					t.Errorf("%s = %q, want %q", field, got, want)
				}
			}
			check("product", got.Product, w.Product)
			check("version", got.Version, w.Version)
			check("line", got.Line, w.Line)
			check("distro", got.Distro, w.Distro)
			check("distro_release", got.DistroRelease, w.DistroRelease)
			check("package_version", got.PackageVersion, w.PackageVersion)
			if w.OS != nil {
				check("os", got.OS, *w.OS)
			}
			if !reflect.DeepEqual(got.ReleaseCandidates, w.ReleaseCandidates) {
				t.Errorf("release_candidates = %v, want %v", got.ReleaseCandidates, w.ReleaseCandidates)
			}
			if got.Service != f.Service || got.Port != port || got.Address != "192.0.2.10" {
				t.Errorf("service/port/address = %s/%d/%s", got.Service, got.Port, got.Address)
			}
			if got.Product != "" && len(got.Evidence) == 0 {
				t.Error("no evidence")
			}
			for _, n := range got.Notes {
				if strings.HasPrefix(n, hintPrefix) {
					t.Errorf("internal hint leaked into notes: %q", n)
				}
			}
		})
	}
}

func TestIdentifyGroupsServices(t *testing.T) {
	bs := []observe.Banner{
		{Service: "smtp", Address: "192.0.2.1", Port: 25, Kind: "greeting", Text: "220 mx ESMTP Postfix (Debian/GNU)"},
		{Service: "ssh", Address: "192.0.2.1", Port: 22, Kind: "identification", Text: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"},
		{Service: "submission", Address: "192.0.2.1", Port: 587, Kind: "greeting", Text: "220 mx ESMTP Postfix (Debian/GNU)"},
		{Service: "smtp", Address: "192.0.2.1", Port: 25, Kind: "ehlo", Text: "250-mx\n250 PIPELINING"},
		{Service: "imap", Address: "192.0.2.1", Port: 143, Kind: "greeting", Text: "* OK IMAP4rev1 Service Ready"},
	}
	fps := Identify(bs)
	if len(fps) != 4 {
		t.Fatalf("got %d fingerprints, want 4: %+v", len(fps), fps)
	}
	want := []string{"smtp/Postfix", "ssh/OpenSSH", "submission/Postfix", "imap/"}
	for i, fp := range fps {
		if got := fp.Service + "/" + fp.Product; got != want[i] {
			t.Errorf("fingerprint %d = %s, want %s", i, got, want[i])
		}
	}
	if len(fps[0].Evidence) != 1 {
		t.Errorf("smtp evidence = %q, want only the greeting", fps[0].Evidence)
	}
	if fps[3].Evidence == nil {
		t.Error("evidence must be an empty list, not null")
	}
	b, _ := json.Marshal(fps[0])
	for _, k := range []string{`"service"`, `"port"`, `"product"`, `"version"`, `"distro"`, `"distro_release"`, `"package_version"`, `"evidence"`} {
		if !strings.Contains(string(b), k) {
			t.Errorf("JSON lacks %s: %s", k, b)
		}
	}
}

func TestParseEdgeCases(t *testing.T) {
	for _, text := range []string{"", "   ", "\x00\xff\xfe", strings.Repeat("A", 100000), "SSH-", "SSH-2.0-", "220 Sendmail 8/8/Debian-", "* OK Cyrus IMAP v server ready", "220 Exim 4.", "name=version= os="} {
		for _, svc := range []string{"smtp", "imap", "pop3", "ssh", "telnet", "unknown"} {
			fp := Parse(observe.Banner{Service: svc, Kind: "greeting", Text: text})
			if fp.Service != svc {
				t.Errorf("service lost")
			}
		}
	}
	if !IsMail("smtps") || !IsMail("pop3") || IsMail("ssh") {
		t.Error("IsMail")
	}
}

func FuzzParse(f *testing.F) {
	for _, fx := range loadFixtures(f) {
		for _, b := range fx.Banners {
			f.Add(fx.Service, b.Kind, b.Text)
		}
	}
	f.Fuzz(func(t *testing.T, service, kind, text string) {
		fp := Parse(observe.Banner{Service: service, Kind: kind, Text: text})
		if fp.Service != service {
			t.Fatalf("service changed")
		}
		if len(fp.Version) > maxText || len(fp.PackageVersion) > maxText {
			t.Fatalf("field longer than the parsed text")
		}
		fps := Identify([]observe.Banner{{Service: service, Kind: kind, Text: text}, {Service: service, Kind: "ehlo", Text: text}})
		if len(fps) != 1 {
			t.Fatalf("Identify gave %d fingerprints for one service", len(fps))
		}
	})
}
