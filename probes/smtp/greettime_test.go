package smtp

import (
	"strings"
	"testing"
	"time"
)

func TestParseGreetingTime(t *testing.T) {
	jst := 9 * 3600
	cases := []struct {
		text string
		want string // RFC 3339, "" for no time
		res  time.Duration
		off  int
		seen string
	}{
		// Sendmail
		{"mx.example.go.jp ESMTP Sendmail 8.15.2/8.15.2; Wed, 13 Mar 2024 18:03:05 +0900", "2024-03-13T18:03:05+09:00", time.Second, jst, "Wed, 13 Mar 2024 18:03:05 +0900"},
		{"mail.example.jp ESMTP Sendmail 8.14.4/8.14.4/Submit; Thu, 7 Mar 2024 09:01:02 +0900 (JST)", "2024-03-07T09:01:02+09:00", time.Second, jst, "Thu, 7 Mar 2024 09:01:02 +0900"},
		// Exim
		{"mx.example.org ESMTP Exim 4.96 Wed, 13 Mar 2024 10:03:05 +0000", "2024-03-13T10:03:05Z", time.Second, 0, "Wed, 13 Mar 2024 10:03:05 +0000"},
		// Exchange 2003 (two spaces after "at") and later
		{"ex.example.com Microsoft ESMTP MAIL Service, Version: 6.0.3790.4675 ready at  Wed, 13 Mar 2024 10:03:05 +0100", "2024-03-13T10:03:05+01:00", time.Second, 3600, "Wed, 13 Mar 2024 10:03:05 +0100"},
		{"EX01.example.local Microsoft ESMTP MAIL Service ready at Wed, 13 Mar 2024 10:03:05 -0500", "2024-03-13T10:03:05-05:00", time.Second, -5 * 3600, "Wed, 13 Mar 2024 10:03:05 -0500"},
		// RFC 822: two-digit year, no seconds, zone name
		{"host ESMTP ready 13 Mar 24 10:03 GMT", "2024-03-13T10:03:00Z", time.Minute, 0, "13 Mar 24 10:03 GMT"},
		{"host; 1 Jan 99 00:00:00 EST", "1999-01-01T00:00:00-05:00", time.Second, -5 * 3600, "1 Jan 99 00:00:00 EST"},
		// date(1) and asctime with zone
		{"host ESMTP Thu Mar 14 10:03:05 JST 2024", "2024-03-14T10:03:05+09:00", time.Second, jst, "Thu Mar 14 10:03:05 JST 2024"},
		{"host ESMTP Thu Mar  4 10:03:05 2024 +0900", "2024-03-04T10:03:05+09:00", time.Second, jst, "Thu Mar  4 10:03:05 2024 +0900"},
		// ISO 8601
		{"host ESMTP 2024-03-14T01:03:05Z ready", "2024-03-14T01:03:05Z", time.Second, 0, "2024-03-14T01:03:05Z"},
		{"host ESMTP 2024-03-14T10:03:05.250+09:00", "2024-03-14T10:03:05+09:00", time.Millisecond, jst, "2024-03-14T10:03:05.250+09:00"},
		{"host ESMTP at 2024-03-14 10:03:05 +09:00", "2024-03-14T10:03:05+09:00", time.Second, jst, "2024-03-14 10:03:05 +09:00"},
		// zone forms
		{"host 13 Mar 2024 10:03:05 UTC+9", "2024-03-13T10:03:05+09:00", time.Second, jst, "13 Mar 2024 10:03:05 UTC+9"},
		{"host 13-Mar-2024 10:03:05 -0330", "2024-03-13T10:03:05-03:30", time.Second, -(3*3600 + 1800), "13-Mar-2024 10:03:05 -0330"},
		{"host Mar 13 2024 10:03:05 +0000", "2024-03-13T10:03:05Z", time.Second, 0, "Mar 13 2024 10:03:05 +0000"},
		// leap second
		{"host 31 Dec 2016 23:59:60 +0000", "2017-01-01T00:00:00Z", time.Second, 0, "31 Dec 2016 23:59:60 +0000"},
		// no time, or no usable zone
		{"mx.example.jp ESMTP Postfix (Debian/GNU)", "", 0, 0, ""},
		{"host ESMTP Thu Mar 14 10:03:05 2024", "", 0, 0, ""},
		{"host ESMTP Wed, 13 Mar 2024 10:03:05", "", 0, 0, ""},
		{"host ESMTP Wed, 13 Mar 2024 10:03:05 CST", "", 0, 0, ""},
		{"host ESMTP Wed, 13 Mar 2024 10:03:05 IST", "", 0, 0, ""},
		{"host ESMTP Wed, 13 Mar 2024 10:03:05 A", "", 0, 0, ""},
		{"host ESMTP 31 Feb 2024 10:03:05 +0000", "", 0, 0, ""},
		{"host ESMTP 13 Mar 2024 24:03:05 +0000", "", 0, 0, ""},
		{"host ESMTP 13 Mar 2024 10:03:05 +2500", "", 0, 0, ""},
		{"host ESMTP 13 Mar 1969 10:03:05 +0000", "", 0, 0, ""},
		{"Version: 6.0.3790.4675 10:03", "", 0, 0, ""},
	}
	for _, c := range cases {
		st, ok := ParseGreetingTime(c.text)
		if c.want == "" {
			if ok {
				t.Errorf("%q: got %v (%q), want no time", c.text, st.Time, st.Text)
			}
			continue
		}
		if !ok {
			t.Errorf("%q: no time found, want %s", c.text, c.want)
			continue
		}
		want, _ := time.Parse(time.RFC3339, c.want)
		if !st.Time.Equal(want) {
			t.Errorf("%q: got %s, want %s", c.text, st.Time.Format(time.RFC3339), c.want)
		}
		if _, off := st.Time.Zone(); off != c.off && c.want != "2017-01-01T00:00:00Z" {
			t.Errorf("%q: zone offset %d, want %d", c.text, off, c.off)
		}
		if st.Resolution != c.res {
			t.Errorf("%q: resolution %v, want %v", c.text, st.Resolution, c.res)
		}
		if st.Text != c.seen {
			t.Errorf("%q: text %q, want %q", c.text, st.Text, c.seen)
		}
	}
}

// roundTripLayouts are layouts servers print; a time formatted with any
// of them must parse back to the same instant.
var roundTripLayouts = []string{
	"Mon, 2 Jan 2006 15:04:05 -0700",
	"Mon, 02 Jan 2006 15:04:05 -0700",
	"Mon, 2 Jan 2006 15:04:05 -0700 (MST)",
	"2 Jan 2006 15:04:05 -0700",
	"Mon Jan _2 15:04:05 -0700 2006",
	"2006-01-02T15:04:05Z07:00",
	"2006-01-02 15:04:05 -07:00",
}

func FuzzParseGreetingTime(f *testing.F) {
	f.Add("mx.example.go.jp ESMTP Sendmail 8.15.2/8.15.2; Wed, 13 Mar 2024 18:03:05 +0900", int64(0), uint8(0))
	f.Add("ex.example.com Microsoft ESMTP MAIL Service ready at  Wed, 13 Mar 2024 10:03:05 +0100", int64(1710324185), uint8(3))
	f.Add("host ESMTP Thu Mar 14 10:03:05 JST 2024", int64(-86400*365), uint8(4))
	f.Add("2024-03-14T10:03:05.250+09:00", int64(4102444800), uint8(5))
	f.Add("31 Dec 2016 23:59:60 +0000 ((((", int64(1), uint8(6))
	f.Fuzz(func(t *testing.T, text string, sec int64, layout uint8) {
		st, ok := ParseGreetingTime(text)
		if ok {
			if st.Time.Year() < 1970 || st.Time.Year() > 10000 {
				t.Fatalf("%q: year %d out of range", text, st.Time.Year())
			}
			if st.Resolution <= 0 || st.Resolution > time.Minute {
				t.Fatalf("%q: resolution %v", text, st.Resolution)
			}
			if !strings.Contains(text, st.Text) || st.Text == "" {
				t.Fatalf("%q: matched text %q not in input", text, st.Text)
			}
		}
		// Round trip: a time printed in a known layout parses back, alone
		// and after a prefix without digits (which cannot hold a time).
		if sec < 0 {
			sec = -sec
		}
		sec = 86400*366 + sec%4000000000 // 1971 to 2097
		l := roundTripLayouts[int(layout)%len(roundTripLayouts)]
		zone := time.FixedZone("", (int(sec%27)-13)*3600)
		when := time.Unix(sec, 0).In(zone)
		got, ok := ParseGreetingTime(when.Format(l))
		if !ok || !got.Time.Equal(when) {
			t.Fatalf("round trip of %q: got %v %v", when.Format(l), got.Time, ok)
		}
		prefix := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return 'x'
			}
			return r
		}, text)
		if len(prefix) > 1000 || len(strings.Fields(prefix)) > 300 {
			return
		}
		line := "mx ESMTP " + prefix + " " + when.Format(l)
		got, ok = ParseGreetingTime(line)
		if !ok || !got.Time.Equal(when) {
			t.Fatalf("%q: got %v %v, want %v", line, got.Time, ok, when)
		}
	})
}
