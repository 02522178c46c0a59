package fingerprint

import (
	"regexp"
	"strings"

	"github.com/kensa-inspect/kensa/observe"
)

var (
	ubuntuIssue   = regexp.MustCompile(`\bUbuntu (\d{1,2}\.\d{2})(?:\.\d+)?(?: LTS)?\b`)
	debianIssue   = regexp.MustCompile(`\b(Debian|Raspbian) GNU/Linux (\d{1,2})(?:\.(\d+))?\b`)
	centosIssue   = regexp.MustCompile(`\bCentOS (?:Linux |Stream )?release (\d{1,2})`)
	streamIssue   = regexp.MustCompile(`\bCentOS Stream (?:release )?(\d{1,2})`)
	rhelIssue     = regexp.MustCompile(`\bRed Hat Enterprise Linux (?:Server |Workstation |ES |AS )?release (\d{1,2})`)
	kernelEL      = regexp.MustCompile(`\bKernel \S*\.el(\d{1,2})\b`)
	freebsdIssue  = regexp.MustCompile(`\bFreeBSD(?:/\w+)?(?: (\d{1,2}\.\d)-RELEASE)?`)
	windowsTelnet = regexp.MustCompile(`Microsoft Telnet Service`)
)

// parseTelnet reads a telnet (or rlogin) greeting and prompt: the login
// banner often names the operating system release (/etc/issue).
func parseTelnet(fp *observe.Fingerprint, text string) {
	switch {
	case ubuntuIssue.MatchString(text):
		fp.Distro = "ubuntu"
		fp.DistroRelease = ubuntuIssue.FindStringSubmatch(text)[1]
		fp.OS = "Ubuntu " + fp.DistroRelease
	case debianIssue.MatchString(text):
		m := debianIssue.FindStringSubmatch(text)
		fp.Distro = strings.ToLower(m[1])
		r := m[2]
		if r == "3" && m[3] != "" {
			r = "3." + m[3]
		}
		fp.DistroRelease = r
		fp.OS = m[1] + " " + r
		if c := debianCodenames[r]; c != "" {
			fp.OS += " (" + c + ")"
		}
	case streamIssue.MatchString(text):
		fp.Distro, fp.DistroRelease = "centos-stream", streamIssue.FindStringSubmatch(text)[1]
		fp.OS = "CentOS Stream " + fp.DistroRelease
	case centosIssue.MatchString(text):
		fp.Distro, fp.DistroRelease = "centos", centosIssue.FindStringSubmatch(text)[1]
		fp.OS = "CentOS Linux " + fp.DistroRelease
	case rhelIssue.MatchString(text):
		fp.Distro, fp.DistroRelease = "rhel", rhelIssue.FindStringSubmatch(text)[1]
		fp.OS = "Red Hat Enterprise Linux " + fp.DistroRelease
	case kernelEL.MatchString(text):
		setEL(fp, "x.el"+kernelEL.FindStringSubmatch(text)[1])
	case windowsTelnet.MatchString(text):
		fp.Distro, fp.OS = "windows", "Windows"
		note(fp, "Microsoft Telnet Service: the Windows release is not shown")
	case strings.Contains(text, "User Access Verification"):
		fp.OS = "Cisco IOS"
	case freebsdIssue.MatchString(text):
		fp.Distro, fp.OS = "freebsd", "FreeBSD"
		if r := freebsdIssue.FindStringSubmatch(text)[1]; r != "" {
			fp.DistroRelease = r
			fp.OS = "FreeBSD " + r
		}
	}
	if fp.Distro != "" && fp.DistroRelease != "" {
		note(fp, "operating system release read from the login banner, which an administrator can edit")
	}
}
