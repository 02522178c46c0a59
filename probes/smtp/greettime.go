package smtp

import (
	"strconv"
	"strings"
	"time"
)

// StatedTime is a date and time a server wrote in its greeting.
type StatedTime struct {
	// Time is the stated instant, in the zone the server named.
	Time time.Time
	// Resolution is the precision of the statement: a second for
	// "15:04:05", a minute for "15:04".
	Resolution time.Duration
	// Text is the date as the server wrote it.
	Text string
}

// ParseGreetingTime finds the first date and time with a time zone in
// text, as Sendmail ("…; Mon, 2 Jan 2006 15:04:05 +0900"), Exim ("…
// Mon, 02 Jan 2006 15:04:05 +0000"), Exchange ("… ready at  Mon, 2 Jan
// 2006 15:04:05 +0900") and others print one in their SMTP greeting. It
// is liberal: RFC 822/2822 dates with or without weekday, seconds, or a
// four-digit year, date(1)/asctime style ("Mon Jan  2 15:04:05 JST
// 2006"), and ISO 8601 ("2006-01-02T15:04:05+09:00"). Numeric zones,
// UT/UTC/GMT/Z and the unambiguous zone names are understood; a time
// without a zone, or with a zone that could mean several offsets (CST,
// IST), is not a statement of an instant and is not returned.
func ParseGreetingTime(text string) (StatedTime, bool) {
	if len(text) > 4096 {
		text = text[:4096]
	}
	toks := tokenize(text)
	for i := range toks {
		if st, ok := tryAt(text, toks, i); ok {
			return st, true
		}
	}
	return StatedTime{}, false
}

type token struct {
	s          string
	start, end int // byte offsets of s in the text
}

// tokenize splits text at white space, trimming brackets and trailing
// punctuation from each word.
func tokenize(text string) []token {
	var out []token
	i := 0
	for i < len(text) {
		for i < len(text) && isSpace(text[i]) {
			i++
		}
		j := i
		for j < len(text) && !isSpace(text[j]) {
			j++
		}
		if j > i {
			s, e := i, j
			for s < e && strings.IndexByte("([{<\"'", text[s]) >= 0 {
				s++
			}
			for e > s && strings.IndexByte(")]}>,;.\"'", text[e-1]) >= 0 {
				e--
			}
			if e > s {
				out = append(out, token{s: text[s:e], start: s, end: e})
			}
			if len(out) > 512 {
				break
			}
		}
		i = j
	}
	return out
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// tryAt tries every known layout anchored at token i.
func tryAt(text string, toks []token, i int) (StatedTime, bool) {
	// ISO 8601 in one token: 2006-01-02T15:04:05Z, …+09:00.
	if t, res, ok := parseISOOne(toks[i].s); ok {
		return StatedTime{Time: t, Resolution: res, Text: toks[i].s}, true
	}
	hh, mm, ss, res, ok := parseClock(toks[i].s)
	if !ok {
		return StatedTime{}, false
	}
	get := func(k int) string {
		if k < 0 || k >= len(toks) {
			return ""
		}
		return toks[k].s
	}
	span := func(a, b int) string {
		if a > 0 && isWeekday(toks[a-1].s) {
			a--
		}
		return text[toks[a].start:toks[b].end]
	}

	// RFC 2822: [Mon,] 2 Jan 2006 15:04[:05] +0900 [(JST)]
	// also Jan 2 2006 15:04:05 +0900, and 02-Jan-2006 15:04:05 +0900.
	if i >= 1 {
		type dmy struct {
			d, m, y int
			first   int
		}
		var cands []dmy
		if i >= 3 {
			if d, ok := parseDay(get(i - 3)); ok {
				if m, ok := parseMonth(get(i - 2)); ok {
					if y, ok := parseYear(get(i - 1)); ok {
						cands = append(cands, dmy{d, m, y, i - 3})
					}
				}
			}
			if m, ok := parseMonth(get(i - 3)); ok {
				if d, ok := parseDay(get(i - 2)); ok {
					if y, ok := parseYear(get(i - 1)); ok {
						cands = append(cands, dmy{d, m, y, i - 3})
					}
				}
			}
		}
		if parts := strings.Split(get(i-1), "-"); len(parts) == 3 {
			d, ok1 := parseDay(parts[0])
			m, ok2 := parseMonth(parts[1])
			y, ok3 := parseYear(parts[2])
			if ok1 && ok2 && ok3 {
				cands = append(cands, dmy{d, m, y, i - 1})
			}
		}
		// ISO date and clock as two tokens: 2006-01-02 15:04:05 +0900.
		if y, m, d, ok := parseISODate(get(i - 1)); ok {
			cands = append(cands, dmy{d, m, y, i - 1})
		}
		for _, c := range cands {
			off, zlast, ok := zoneAt(toks, i+1)
			if !ok {
				continue
			}
			if t, ok := mkTime(c.y, c.m, c.d, hh, mm, ss, off); ok {
				return StatedTime{Time: t, Resolution: res, Text: span(c.first, zlast)}, true
			}
		}
	}
	// date(1) / asctime: [Mon] Jan  2 15:04:05 [JST] 2006 [+0900]
	if i >= 2 {
		m, ok1 := parseMonth(get(i - 2))
		d, ok2 := parseDay(get(i - 1))
		if ok1 && ok2 {
			// zone before the year
			if off, zlast, ok := zoneAt(toks, i+1); ok {
				if y, ok := parseYear4(get(zlast + 1)); ok {
					if t, ok := mkTime(y, m, d, hh, mm, ss, off); ok {
						return StatedTime{Time: t, Resolution: res, Text: span(i-2, zlast+1)}, true
					}
				}
			}
			// zone after the year
			if y, ok := parseYear4(get(i + 1)); ok {
				if off, zlast, ok := zoneAt(toks, i+2); ok {
					if t, ok := mkTime(y, m, d, hh, mm, ss, off); ok {
						return StatedTime{Time: t, Resolution: res, Text: span(i-2, zlast)}, true
					}
				}
			}
		}
	}
	return StatedTime{}, false
}

// zoneAt parses the zone starting at token k: a numeric offset,
// optionally followed by a comment such as "(JST)" which is then part of
// the match, or a zone name. It returns the offset in seconds and the
// index of the last token used.
func zoneAt(toks []token, k int) (int, int, bool) {
	if k >= len(toks) {
		return 0, 0, false
	}
	off, ok := parseZone(toks[k].s)
	if !ok {
		return 0, 0, false
	}
	return off, k, true
}

// parseClock reads 15:04, 15:04:05 or 15:04:05.123.
func parseClock(s string) (hh, mm, ss int, res time.Duration, ok bool) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, 0, 0, false
	}
	var err error
	if hh, err = twoDigits(parts[0], true); err != nil || hh > 23 {
		return 0, 0, 0, 0, false
	}
	if mm, err = twoDigits(parts[1], false); err != nil || mm > 59 {
		return 0, 0, 0, 0, false
	}
	if len(parts) == 2 {
		return hh, mm, 0, time.Minute, true
	}
	sec, frac, hasFrac := strings.Cut(parts[2], ".")
	if !hasFrac {
		sec, frac, hasFrac = strings.Cut(parts[2], ",")
	}
	if ss, err = twoDigits(sec, false); err != nil || ss > 60 {
		return 0, 0, 0, 0, false
	}
	if !hasFrac {
		return hh, mm, ss, time.Second, true
	}
	if frac == "" || len(frac) > 9 || !allDigits(frac) {
		return 0, 0, 0, 0, false
	}
	res = time.Second
	for range len(frac) {
		res /= 10
	}
	// The fraction is dropped: a greeting's sub-second part adds
	// nothing next to the round trip, and Resolution records it.
	return hh, mm, ss, res, true
}

func twoDigits(s string, oneOK bool) (int, error) {
	if len(s) != 2 && !(oneOK && len(s) == 1) || !allDigits(s) {
		return 0, strconv.ErrSyntax
	}
	return strconv.Atoi(s)
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func parseDay(s string) (int, bool) {
	if len(s) < 1 || len(s) > 2 || !allDigits(s) {
		return 0, false
	}
	d, _ := strconv.Atoi(s)
	return d, d >= 1 && d <= 31
}

var months = map[string]int{
	"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6,
	"jul": 7, "aug": 8, "sep": 9, "oct": 10, "nov": 11, "dec": 12,
	"january": 1, "february": 2, "march": 3, "april": 4, "june": 6,
	"july": 7, "august": 8, "sept": 9, "september": 9, "october": 10,
	"november": 11, "december": 12,
}

func parseMonth(s string) (int, bool) {
	m, ok := months[strings.ToLower(s)]
	return m, ok
}

// parseYear reads a four-digit year, or a two- or three-digit one as
// RFC 2822 section 4.3 reads them.
func parseYear(s string) (int, bool) {
	if !allDigits(s) {
		return 0, false
	}
	y, _ := strconv.Atoi(s)
	switch len(s) {
	case 2:
		if y < 50 {
			return 2000 + y, true
		}
		return 1900 + y, true
	case 3:
		return 1900 + y, true
	case 4:
		return y, y >= 1970
	}
	return 0, false
}

func parseYear4(s string) (int, bool) {
	if len(s) != 4 {
		return 0, false
	}
	return parseYear(s)
}

func parseISODate(s string) (y, m, d int, ok bool) {
	parts := strings.Split(s, "-")
	if len(parts) != 3 || len(parts[0]) != 4 || len(parts[1]) != 2 || len(parts[2]) != 2 {
		return 0, 0, 0, false
	}
	if !allDigits(parts[0]) || !allDigits(parts[1]) || !allDigits(parts[2]) {
		return 0, 0, 0, false
	}
	y, _ = strconv.Atoi(parts[0])
	m, _ = strconv.Atoi(parts[1])
	d, _ = strconv.Atoi(parts[2])
	return y, m, d, y >= 1970 && m >= 1 && m <= 12 && d >= 1 && d <= 31
}

// parseISOOne reads 2006-01-02T15:04:05[.999]Z or with a numeric offset.
func parseISOOne(s string) (time.Time, time.Duration, bool) {
	date, rest, ok := strings.Cut(s, "T")
	if !ok {
		return time.Time{}, 0, false
	}
	y, m, d, ok := parseISODate(date)
	if !ok {
		return time.Time{}, 0, false
	}
	// Split the clock from its zone.
	k := strings.IndexAny(rest, "Z+-z")
	if k < 0 {
		return time.Time{}, 0, false
	}
	hh, mm, ss, res, ok := parseClock(rest[:k])
	if !ok {
		return time.Time{}, 0, false
	}
	off, ok := parseZone(rest[k:])
	if !ok {
		return time.Time{}, 0, false
	}
	t, ok := mkTime(y, m, d, hh, mm, ss, off)
	return t, res, ok
}

// zoneNames are the zone abbreviations read as one offset. RFC 822's
// North American zones are included except CST (China's CST, +0800, is
// as common in banners); IST (India, Ireland, Israel) and BST are left
// out for the same reason.
var zoneNames = map[string]int{
	"UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "WET": 0,
	"EST": -5 * 3600, "EDT": -4 * 3600, "CDT": -5 * 3600,
	"MST": -7 * 3600, "MDT": -6 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
	"JST": 9 * 3600, "KST": 9 * 3600, "HKT": 8 * 3600, "SGT": 8 * 3600,
	"CET": 1 * 3600, "CEST": 2 * 3600, "MET": 1 * 3600, "MEST": 2 * 3600,
	"EET": 2 * 3600, "EEST": 3 * 3600, "WEST": 1 * 3600,
	"AEST": 10 * 3600, "AEDT": 11 * 3600, "NZST": 12 * 3600, "NZDT": 13 * 3600,
}

// parseZone reads +0900, -05:00, +09, Z, UTC, GMT+9, JST.
func parseZone(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	u := strings.ToUpper(s)
	if off, ok := zoneNames[u]; ok {
		return off, true
	}
	for _, p := range []string{"UTC", "GMT", "UT"} {
		if rest, ok := strings.CutPrefix(u, p); ok && rest != "" && (rest[0] == '+' || rest[0] == '-') {
			return parseOffset(rest, true)
		}
	}
	return parseOffset(u, false)
}

// parseOffset reads ±hhmm, ±hh:mm, ±hh (and ±h when loose).
func parseOffset(s string, loose bool) (int, bool) {
	if len(s) < 2 || (s[0] != '+' && s[0] != '-') {
		return 0, false
	}
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	body := strings.Replace(s[1:], ":", "", 1)
	if !allDigits(body) {
		return 0, false
	}
	var h, m int
	switch len(body) {
	case 1:
		if !loose {
			return 0, false
		}
		h, _ = strconv.Atoi(body)
	case 2:
		h, _ = strconv.Atoi(body)
	case 4:
		h, _ = strconv.Atoi(body[:2])
		m, _ = strconv.Atoi(body[2:])
	default:
		return 0, false
	}
	if h > 14 || m > 59 {
		return 0, false
	}
	if strings.Contains(s, ":") && len(body) != 4 {
		return 0, false
	}
	return sign * (h*3600 + m*60), true
}

// mkTime builds the instant, refusing dates that do not exist (31 Feb).
func mkTime(y, mo, d, hh, mm, ss, off int) (time.Time, bool) {
	if y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 {
		return time.Time{}, false
	}
	loc := time.FixedZone("", off)
	leap := 0
	if ss == 60 {
		ss, leap = 59, 1
	}
	t := time.Date(y, time.Month(mo), d, hh, mm, ss, 0, loc)
	if t.Day() != d || t.Month() != time.Month(mo) {
		return time.Time{}, false
	}
	return t.Add(time.Duration(leap) * time.Second), true
}

func isWeekday(s string) bool {
	switch strings.ToLower(s) {
	case "mon", "tue", "wed", "thu", "fri", "sat", "sun",
		"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday":
		return true
	}
	return false
}
