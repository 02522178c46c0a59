package version

import "testing"

func TestCompareUpstream(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		// Sendmail: four components.
		{"8.17.1.9", "8.17.1", 1},
		{"8.17.1.9", "8.17.2", -1},
		{"8.14.4", "8.14.4", 0},
		{"8.14.3", "8.14.4", -1},
		{"8.18.1", "8.17.1.9", 1},
		// Exim: a third component is a security release.
		{"4.96.1", "4.96", 1},
		{"4.96", "4.97", -1},
		{"4.94.2", "4.94", 1},
		{"4.92.2", "4.92.3", -1},
		{"4.100", "4.99", 1},
		// OpenSSH portable suffixes.
		{"9.2p1", "9.2p2", -1},
		{"9.8p1", "9.7p1", 1},
		{"9.9p1", "9.9p2", -1},
		{"9.10p1", "9.9p2", 1},
		{"6.6.1p1", "6.6p1", 1},
		{"4.3p2", "4.4p1", -1},
		{"10.0p1", "9.9p2", 1},
		// UW-IMAP year-and-letter versions.
		{"2007b", "2007", 1},
		{"2007b", "2007f", -1},
		{"2007b.404", "2007b", 1},
		{"2007e.404", "2007f", -1},
		{"2006k", "2007", -1},
		{"2007F", "2007e", 1},
		// Pre-releases sort before the release.
		{"4.97rc1", "4.97", -1},
		{"4.97_RC2", "4.97_RC1", 1},
		{"4.93~RC2", "4.93", -1},
		{"2.3.0beta1", "2.3.0", -1},
		// Numbers after letters.
		{"9.2p1", "9.2.1", -1},
		// Trailing zeros and leading zeros.
		{"1.0", "1.0.0", 0},
		{"2.3.07", "2.3.7", 0},
		{"01.2", "1.2", 0},
		// Dropbear dates.
		{"2022.83", "2020.81", 1},
		{"2019.78", "2019.78", 0},
		// Domino fix packs.
		{"8.5.3FP6", "8.5.3FP5", 1},
		{"8.5.3FP6", "8.5.3", 1},
		// Huge numbers do not overflow.
		{"99999999999999999999999.1", "99999999999999999999998.9", 1},
	}
	for _, c := range cases {
		if got := CompareUpstream(c.a, c.b); got != c.want {
			t.Errorf("CompareUpstream(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
		if got := CompareUpstream(c.b, c.a); got != -c.want {
			t.Errorf("CompareUpstream(%q, %q) = %d, want %d (antisymmetry)", c.b, c.a, got, -c.want)
		}
	}
}

func TestCompareDeb(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"1:9.2p1-2+deb12u3", "1:9.2p1-2+deb12u2", 1},
		{"1:9.2p1-2+deb12u3", "1:9.2p1-2+deb12u3", 0},
		{"1:9.2p1-2", "1:9.2p1-2+deb12u3", -1},
		// Epochs dominate.
		{"1:8.9p1-3ubuntu0.10", "9.9p1-1", 1},
		{"8.9p1-3ubuntu0.10", "1:8.9p1-3ubuntu0.1", -1},
		// Ubuntu revisions: 0.10 is newer than 0.9, and numerically not
		// lexically.
		{"1:8.9p1-3ubuntu0.10", "1:8.9p1-3ubuntu0.9", 1},
		{"1:9.6p1-3ubuntu13.8", "1:9.6p1-3ubuntu13.3", 1},
		{"1:9.6p1-3ubuntu13", "1:9.6p1-3ubuntu13.3", -1},
		// Tilde sorts before everything, even the end.
		{"4.93~RC2-1ubuntu1", "4.93-9ubuntu1", -1},
		{"1.0~rc1", "1.0", -1},
		{"1.0~~", "1.0~", -1},
		{"1:10.0p1-1~bpo12+1", "1:10.0p1-1", -1},
		// Stable point releases and security updates.
		{"4.96-15+deb12u4", "4.96-15+deb12u2", 1},
		{"4.94.2-7+deb11u2", "4.96-15", -1},
		{"4.89-2+deb9u8", "4.89-2+deb9u4", 1},
		{"8.17.1.9-2+deb12u2", "8.17.1.9-2", 1},
		// ESM revisions sort after the base.
		{"4.90.1-1ubuntu1.10+esm1", "4.90.1-1ubuntu1.10", 1},
		{"1:2.2.27-3+deb9u5", "1:2.2.27-3+deb9u4", 1},
		{"6.0.3p1-5+deb10u3", "6.0.3p1-5+deb10u2", 1},
	}
	for _, c := range cases {
		got, err := CompareDeb(c.a, c.b)
		if err != nil {
			t.Fatalf("CompareDeb(%q, %q): %v", c.a, c.b, err)
		}
		if got != c.want {
			t.Errorf("CompareDeb(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
	if _, err := CompareDeb("not a version!", "1.0"); err == nil {
		t.Error("CompareDeb accepted an invalid version")
	}
}

func TestCompareRPM(t *testing.T) {
	cases := []struct {
		a, b string
		want int
	}{
		{"8.0p1-19.el8_10.1", "8.0p1-19.el8_10", 1},
		{"8.7p1-38.el9_4.1", "8.7p1-38.el9", 1},
		{"2.3.7-7.el5", "2.3.7-12.el5", -1},
		{"1:2.3.7-7.el5", "2.3.7-99.el5", 1},
		{"7.4p1-21.el7", "7.4p1-21.el7", 0},
		{"4.96.1-1.fc40", "4.96-8.fc40", 1},
	}
	for _, c := range cases {
		if got := CompareRPM(c.a, c.b); got != c.want {
			t.Errorf("CompareRPM(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestCompareSchemes(t *testing.T) {
	if _, err := Compare(Upstream, "", "1"); err == nil {
		t.Error("empty version accepted")
	}
	if _, err := Compare("nonsense", "1", "2"); err == nil {
		t.Error("unknown scheme accepted")
	}
	if c, err := Compare(Deb, "1:1.0-1", "2.0-1"); err != nil || c != 1 {
		t.Errorf("Compare(Deb) = %d, %v", c, err)
	}
	if c, err := Compare(RPM, "1.0-2.el7", "1.0-10.el7"); err != nil || c != -1 {
		t.Errorf("Compare(RPM) = %d, %v", c, err)
	}
	for distro, want := range map[string]Scheme{"debian": Deb, "Ubuntu": Deb, "rhel": RPM, "centos": RPM, "freebsd": Upstream, "": Upstream} {
		if got := SchemeFor(distro); got != want {
			t.Errorf("SchemeFor(%q) = %s, want %s", distro, got, want)
		}
	}
}

func TestNormalizeAndLine(t *testing.T) {
	if got := Normalize("OpenSSH", "7.4"); got != "7.4p1" {
		t.Errorf("Normalize(OpenSSH 7.4) = %q", got)
	}
	if got := Normalize("OpenSSH", "9.2p1"); got != "9.2p1" {
		t.Errorf("Normalize(OpenSSH 9.2p1) = %q", got)
	}
	if got := Normalize("Exim", "4.96"); got != "4.96" {
		t.Errorf("Normalize(Exim 4.96) = %q", got)
	}
	// OpenSSH 9.8 from a Red Hat or OpenBSD banner carries the
	// regreSSHion fix of 9.8p1; 9.9 does not carry 9.9p2's.
	if CompareUpstream(Normalize("OpenSSH", "9.8"), "9.8p1") < 0 {
		t.Error("OpenSSH 9.8 sorted before 9.8p1")
	}
	if CompareUpstream(Normalize("OpenSSH", "9.9"), "9.9p2") >= 0 {
		t.Error("OpenSSH 9.9 sorted at or after 9.9p2")
	}
	lines := map[string]string{
		"4.96.1": "4.96", "3.7.9": "3.7", "8.17.1.9": "8.17", "9.2p1": "9.2",
		"2007b.404": "2007", "2.3.19.1": "2.3", "": "", "v1": "", "6.5.7638.1": "6.5", "07.02": "7.2",
	}
	for v, want := range lines {
		if got := Line(v); got != want {
			t.Errorf("Line(%q) = %q, want %q", v, got, want)
		}
	}
}

func FuzzCompareUpstream(f *testing.F) {
	for _, s := range []string{"9.2p1", "2007b.404", "8.17.1.9", "4.97~RC1", "1..2", "~", ""} {
		f.Add(s, "4.96.1")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		ab, ba := CompareUpstream(a, b), CompareUpstream(b, a)
		if ab != -ba {
			t.Fatalf("not antisymmetric: %q vs %q: %d, %d", a, b, ab, ba)
		}
		if CompareUpstream(a, a) != 0 {
			t.Fatalf("%q not equal to itself", a)
		}
	})
}
