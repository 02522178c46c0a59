package fingerprint

import (
	"regexp"
	"strings"

	"github.com/kensa-inspect/kensa/observe"
)

var (
	sshIdent   = regexp.MustCompile(`^SSH-(\d+\.\d+)-([^\s]+)(?:\s+(.*))?$`)
	opensshRe  = regexp.MustCompile(`^OpenSSH_(?:for_Windows_)?(\d+\.\d+(?:\.\d+)*(?:p\d+)?)`)
	dropbearRe = regexp.MustCompile(`^dropbear(?:_(\d{4}\.\d+(?:\.\d+)?))?`)
	freebsdTag = regexp.MustCompile(`^FreeBSD-(\d{8})$`)
)

// parseSSH reads an SSH identification line (RFC 4253:
// SSH-protoversion-softwareversion SP comments).
func parseSSH(fp *observe.Fingerprint, line string) {
	m := sshIdent.FindStringSubmatch(line)
	if m == nil {
		return
	}
	proto, soft, comment := m[1], m[2], strings.TrimSpace(m[3])
	if proto == "1.99" || strings.HasPrefix(proto, "1.") {
		note(fp, "protocol "+proto+": SSH-1 is offered")
	}
	switch {
	case opensshRe.MatchString(soft):
		fp.Product = productOpenSSH
		fp.Version = opensshRe.FindStringSubmatch(soft)[1]
		if strings.HasPrefix(soft, "OpenSSH_for_Windows_") {
			fp.Distro, fp.OS = "windows", "Windows"
			note(fp, "Win32-OpenSSH: the Windows release is not shown")
			return
		}
	case dropbearRe.MatchString(soft):
		fp.Product = productDropbear
		fp.Version = dropbearRe.FindStringSubmatch(soft)[1]
	case strings.HasPrefix(soft, "Cisco-"):
		fp.Product, fp.Version, fp.OS = "Cisco SSH", strings.TrimPrefix(soft, "Cisco-"), "Cisco IOS"
		return
	case soft == "ROSSSH":
		fp.Product, fp.OS = "MikroTik SSH", "MikroTik RouterOS"
		return
	default:
		fp.Product = clip(soft, 60)
		note(fp, "unrecognised SSH software "+clip(soft, 60))
	}
	if comment == "" {
		if fp.Product == productOpenSSH {
			note(fp, "no distribution marker (Red Hat family, OpenBSD and self-built OpenSSH show none)")
		}
		return
	}
	sshComment(fp, comment)
}

// sshComment reads the comment after the software version: Debian-…,
// Ubuntu-…, Raspbian-…, FreeBSD-YYYYMMDD.
func sshComment(fp *observe.Fingerprint, c string) {
	first := strings.Fields(c)[0]
	switch {
	case strings.HasPrefix(first, "Debian-"), strings.HasPrefix(first, "Ubuntu-"), strings.HasPrefix(first, "Raspbian-"):
		i := strings.IndexByte(first, '-')
		vendor, rev := first[:i], first[i+1:]
		if !debRevision.MatchString(rev) {
			note(fp, "unreadable package revision "+clip(rev, 40))
			return
		}
		switch vendor {
		case "Raspbian":
			fp.Distro = "raspbian"
		case "Ubuntu":
			fp.Distro = "ubuntu"
		}
		if fp.Product == productOpenSSH && fp.Version != "" {
			fp.PackageVersion = "1:" + fp.Version + "-" + rev
		}
		setDebianFamily(fp, fp.Product, fp.Version, rev)
	case freebsdTag.MatchString(first):
		fp.Distro, fp.OS = "freebsd", "FreeBSD"
		fp.PackageVersion = freebsdTag.FindStringSubmatch(first)[1]
		note(fp, "FreeBSD base-system OpenSSH imported "+fp.PackageVersion+"; the FreeBSD release cannot be derived from it")
	case strings.HasPrefix(first, "FreeBSD"):
		fp.Distro, fp.OS = "freebsd", "FreeBSD"
		if strings.Contains(first, "openssh-portable") {
			note(fp, "OpenSSH from the FreeBSD ports ("+clip(first, 60)+"), not the base system")
		}
	default:
		note(fp, "SSH comment "+clip(c, 60))
	}
}
