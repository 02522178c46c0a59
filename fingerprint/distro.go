package fingerprint

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/kensa-inspect/kensa/observe"
)

var (
	debRevision = regexp.MustCompile(`^[0-9A-Za-z.+~]{1,64}$`)
	pkgVersion  = regexp.MustCompile(`^[0-9A-Za-z.+~:-]{1,96}$`)
	debU        = regexp.MustCompile(`[+~]deb(\d{1,2})u\d+`)
	debBpo      = regexp.MustCompile(`~bpo(\d{1,2})`)
	debCodename = regexp.MustCompile(`[+~](etch|lenny|squeeze|wheezy)`)
	elTag       = regexp.MustCompile(`\.el(\d{1,2})(?:_\d+)?\b`)
)

var debianCodenames = map[string]string{
	"3.1": "sarge", "4": "etch", "5": "lenny", "6": "squeeze", "7": "wheezy", "8": "jessie",
	"9": "stretch", "10": "buster", "11": "bullseye", "12": "bookworm", "13": "trixie", "14": "forky",
}

var codenameRelease = map[string]string{"etch": "4", "lenny": "5", "squeeze": "6", "wheezy": "7"}

// debianReleaseOf reads the Debian release from a package revision's
// stable-update marker (+deb12u3, ~deb8u7, ~bpo11+1, +squeeze5).
func debianReleaseOf(rev string) string {
	if m := debU.FindStringSubmatch(rev); m != nil {
		return m[1]
	}
	if m := debBpo.FindStringSubmatch(rev); m != nil {
		n, _ := strconv.Atoi(m[1])
		if n >= 40 { // old style: ~bpo60, ~bpo70
			n /= 10
		}
		return strconv.Itoa(n)
	}
	if m := debCodename.FindStringSubmatch(rev); m != nil {
		return codenameRelease[m[1]]
	}
	return ""
}

// openSSHDebian maps the upstream OpenSSH version of each Debian
// release's original package to the release, for revisions without a
// stable-update marker ("OpenSSH_9.2p1 Debian-2").
var openSSHDebian = map[string]string{
	"4.3p2": "4", "5.1p1": "5", "5.5p1": "6", "6.0p1": "7", "6.7p1": "8",
	"7.4p1": "9", "7.9p1": "10", "8.4p1": "11", "9.2p1": "12",
}

// openSSHUbuntu maps the upstream OpenSSH version to the Ubuntu releases
// that shipped it; Ubuntu's banners carry no release marker, only the
// package revision.
var openSSHUbuntu = map[string][]string{
	"5.3p1": {"10.04"}, "5.9p1": {"12.04"}, "6.6.1p1": {"14.04"}, "7.2p2": {"16.04"},
	"7.6p1": {"18.04"}, "7.7p1": {"18.10"}, "7.9p1": {"19.04"}, "8.0p1": {"19.10"},
	"8.2p1": {"20.04"}, "8.3p1": {"20.10"}, "8.4p1": {"21.04", "21.10"}, "8.9p1": {"22.04"},
	"9.0p1": {"22.10", "23.04"}, "9.3p1": {"23.10"}, "9.6p1": {"24.04"}, "9.7p1": {"24.10"},
}

// packagePrefixUbuntu maps package version prefixes of other products to
// the Ubuntu release that shipped them.
var packagePrefixUbuntu = map[string]map[string]string{
	productSendmail: {"8.15.2-22ubuntu": "22.04"},
}

// setDebianFamily fills distro, release and OS for a Debian-family package
// revision of a product.
func setDebianFamily(fp *observe.Fingerprint, product, upstream, rev string) {
	switch {
	case fp.Distro == "ubuntu" || strings.Contains(rev, "ubuntu"):
		fp.Distro = "ubuntu"
	case fp.Distro == "raspbian":
	default:
		fp.Distro = "debian"
	}
	switch fp.Distro {
	case "ubuntu":
		if product == productOpenSSH {
			if rs, ok := openSSHUbuntu[upstream]; ok {
				if len(rs) == 1 {
					fp.DistroRelease = rs[0]
				} else {
					fp.ReleaseCandidates = rs
					note(fp, "OpenSSH "+upstream+" shipped in Ubuntu "+strings.Join(rs, " and "))
				}
			}
		}
		for prefix, r := range packagePrefixUbuntu[product] {
			if strings.HasPrefix(upstream+"-"+rev, prefix) {
				fp.DistroRelease = r
			}
		}
		if fp.DistroRelease != "" {
			fp.OS = "Ubuntu " + fp.DistroRelease
			note(fp, "Ubuntu release derived from the package version; Ubuntu banners carry no release marker")
		} else {
			fp.OS = "Ubuntu"
		}
	default:
		r := debianReleaseOf(rev)
		if r == "" && product == productOpenSSH {
			if x, ok := openSSHDebian[upstream]; ok && !strings.ContainsAny(rev, "+~") {
				r = x
				note(fp, "Debian release derived from the original package version of OpenSSH "+upstream)
			}
		}
		fp.DistroRelease = r
		name := "Debian"
		if fp.Distro == "raspbian" {
			name = "Raspbian"
		}
		if r != "" {
			fp.OS = name + " " + r
			if c := debianCodenames[r]; c != "" {
				fp.OS += " (" + c + ")"
			}
		} else {
			fp.OS = name
			note(fp, "package revision "+rev+" names no Debian release (it may also be an Ubuntu build of the same package)")
		}
	}
}

// setEL fills distro and release from an RPM .elN release tag.
func setEL(fp *observe.Fingerprint, pkg string) bool {
	m := elTag.FindStringSubmatch(pkg)
	if m == nil {
		return false
	}
	fp.Distro, fp.DistroRelease = "el", m[1]
	fp.OS = "Enterprise Linux " + m[1] + " (RHEL or a rebuild)"
	note(fp, "RPM release tag .el"+m[1]+": Red Hat Enterprise Linux "+m[1]+" or a rebuild (CentOS, Oracle, Rocky, Alma)")
	return true
}
