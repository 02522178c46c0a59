package rules

import (
	"strings"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/advisory"
	"github.com/kensa-inspect/kensa/observe"
	"github.com/kensa-inspect/kensa/scoring"
)

func ctx() Context {
	return Context{Catalog: scoring.MailCatalog, Policy: DefaultPolicy(), AsOf: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Advisories: advisory.Default()}
}

// TestListedServicesApplyWithoutObservations: an item of a listed service
// is unknown, never na, when nothing could be observed (out of scope,
// resolution failed).
func TestListedServicesApplyWithoutObservations(t *testing.T) {
	obs := &observe.Observations{Problems: []string{"address 192.0.2.1 of mx is outside the scope: not contacted"}}
	items := evaluate(ctx(), "mx", "192.0.2.1", map[string]bool{"smtp": true, "imap": true}, obs)
	for _, code := range []string{"A1", "P1", "M3", "X2", "S1", "S3", "M1", "M2", "S2"} {
		if items[code].Outcome != scoring.Unknown {
			t.Errorf("%s: %s (%s)", code, items[code].Outcome, items[code].Reason)
		}
	}
	if items["X1"].Outcome != scoring.NA {
		t.Errorf("X1 without submission: %s", items["X1"].Outcome)
	}
	if !strings.Contains(items["A1"].Reason, "outside the scope") {
		t.Errorf("A1 reason %q", items["A1"].Reason)
	}
}

// TestNotProbedServiceBlocksPass: a planned service that could not be
// probed before the budget ran out keeps its items from passing.
func TestNotProbedServiceBlocksPass(t *testing.T) {
	obs := &observe.Observations{Services: []observe.Service{
		{Service: "telnet", Address: "192.0.2.1", Port: 23, State: "not-probed"},
	}}
	got := notProbed(obs, item(t, "S1").Deciders())
	if got != "telnet 192.0.2.1:23" {
		t.Fatalf("%q", got)
	}
	if notProbed(obs, item(t, "A1").Deciders()) != "" {
		t.Fatal("telnet does not decide A1")
	}
}

// TestNothingAnswered: a host where the inventory lists nothing and
// nothing answered is not a host without relay or receive-side checks:
// every item is unknown with "no service answered".
func TestNothingAnswered(t *testing.T) {
	obs := &observe.Observations{Addresses: []string{"192.0.2.1"}}
	for _, name := range []string{"smtp", "submission", "imap", "pop3", "ssh", "ntp", "telnet"} {
		obs.Services = append(obs.Services, observe.Service{Service: name, Address: "192.0.2.1", Port: 1, State: observe.StateNoAnswer})
	}
	items := evaluate(ctx(), "mx", "192.0.2.1", nil, obs)
	for _, it := range scoring.MailCatalog.Items {
		v := items[it.Code]
		if v.Outcome != scoring.Unknown || !strings.Contains(v.Reason, "no service answered") {
			t.Errorf("%s: %s (%s)", it.Code, v.Outcome, v.Reason)
		}
	}
	if !strings.Contains(strings.Join(items["A1"].Evidence, "\n"), "192.0.2.1:1 smtp no-answer") {
		t.Errorf("evidence %q", items["A1"].Evidence)
	}
}

// TestSilentAddressBlocksPass: an address of the server that answered on
// no port keeps every probe-decided item from passing.
func TestSilentAddressBlocksPass(t *testing.T) {
	obs := &observe.Observations{
		Addresses: []string{"192.0.2.1", "192.0.2.2"},
		Services: []observe.Service{
			{Service: "telnet", Address: "192.0.2.1", Port: 23, State: observe.StateAnswered},
			{Service: "telnet", Address: "192.0.2.2", Port: 23, State: observe.StateNoAnswer},
		},
	}
	if got := silentAddresses(obs); len(got) != 1 || got[0] != "192.0.2.2" {
		t.Fatalf("silent %q", got)
	}
	obs.Services[1].State = observe.StateAnswered
	if got := silentAddresses(obs); len(got) != 0 {
		t.Fatalf("silent %q", got)
	}
}

func item(t *testing.T, code string) scoring.Item {
	t.Helper()
	it, ok := scoring.MailCatalog.Item(code)
	if !ok {
		t.Fatalf("no item %s", code)
	}
	return it
}
