package scan

import (
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kensa-inspect/kensa/observe"
)

// TestCrewRunsEveryTargetOnce: crews of many servers share few tokens;
// every target is probed exactly once, no crew ever runs more workers
// than its size, and every token is back at the end.
func TestCrewRunsEveryTargetOnce(t *testing.T) {
	w := newWorkforce(5)
	const servers, targets, size = 40, 9, 4
	var runs [servers][targets]atomic.Int32
	var wg sync.WaitGroup
	for s := 0; s < servers; s++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var now, most atomic.Int32
			var c *crew
			c = newCrew(w, size, targets, func(i int) {
				if n := now.Add(1); n > most.Load() {
					most.Store(n)
				}
				runs[s][i].Add(1)
				if s%7 == 0 && i == 0 {
					c.turnedSlow()
				}
				time.Sleep(time.Millisecond)
				now.Add(-1)
			})
			c.claim()
			c.work()
			if m := most.Load(); m > size {
				t.Errorf("server %d: %d workers at once, size %d", s, m, size)
			}
		}()
	}
	wg.Wait()
	for s := range runs {
		for i := range runs[s] {
			if n := runs[s][i].Load(); n != 1 {
				t.Errorf("server %d target %d probed %d times", s, i, n)
			}
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.free != 5 || len(w.waiting) != 0 {
		t.Errorf("at the end: %d tokens free of 5, %d crews waiting", w.free, len(w.waiting))
	}
}

// TestCrewSlowServerGetsTokensFirst: while a server that is not slow
// holds every token, a slow server's crew waits ahead of another that
// queued before it, and a worker of the first hands its token on after
// its current target: the slow server's targets then run side by side.
// Without the priority the other crew would take a token and keep it;
// without the hand-on the first would keep both.
func TestCrewSlowServerGetsTokensFirst(t *testing.T) {
	w := newWorkforce(2)
	release := make(chan struct{})
	var began sync.WaitGroup
	began.Add(3)
	// A server with endless targets, each waiting for release: its
	// three workers (two with tokens) hold every token.
	quick := newCrew(w, 3, 1<<20, func(i int) {
		if i < 3 {
			began.Done()
		}
		<-release
	})
	quick.claim()
	quickDone := make(chan struct{})
	go func() { quick.work(); close(quickDone) }()
	began.Wait()
	// Another server, queued before the slow one: each of its targets
	// holds its worker until the end.
	hold := make(chan struct{})
	otherBegan := make(chan struct{}, 3)
	other := newCrew(w, 3, 3, func(int) { otherBegan <- struct{}{}; <-hold })
	other.claim()
	otherDone := make(chan struct{})
	go func() { other.work(); close(otherDone) }()
	<-otherBegan
	// The slow server: its targets end only once all three have begun.
	var all sync.WaitGroup
	all.Add(3)
	allBegan := make(chan struct{})
	go func() { all.Wait(); close(allBegan) }()
	var slow *crew
	slow = newCrew(w, 3, 3, func(i int) {
		if i == 0 {
			slow.turnedSlow()
		}
		all.Done()
		<-allBegan
	})
	slow.claim()
	slowDone := make(chan struct{})
	go func() { slow.work(); close(slowDone) }()
	// The first server's workers finish a target every millisecond: its
	// endless targets would keep its tokens for a quarter of an hour.
	stop, fed := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(fed)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-tick.C:
			case <-stop:
				return
			}
			select {
			case release <- struct{}{}:
			case <-stop:
				return
			}
		}
	}()
	select {
	case <-slowDone:
	case <-time.After(30 * time.Second):
		t.Error("the slow server's targets never ran side by side")
	}
	close(stop)
	<-fed
	close(release)
	close(hold)
	<-quickDone
	<-otherDone
	<-slowDone
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.free != 2 {
		t.Errorf("%d tokens free at the end, want 2", w.free)
	}
}

// TestCrewTokensGoWhereMostWorkIsLeft: while a server holds every
// token with little work left per worker, a server with more work left
// (three long probes) gets tokens handed on between two targets, and
// its probes run side by side. Without the hand-on the first server's
// workers would keep the tokens (its later targets wait until the
// second server is done: the test would time out); counting targets
// instead of their weights, the first server's thirty short targets
// would outweigh the three long ones.
func TestCrewTokensGoWhereMostWorkIsLeft(t *testing.T) {
	w := newWorkforce(2)
	heavyDone := make(chan struct{})
	tick := make(chan struct{})
	var began sync.WaitGroup
	began.Add(3)
	busy := newCrew(w, 3, 30, func(i int) {
		if i < 3 {
			began.Done()
			<-tick
			return
		}
		<-heavyDone
	})
	busy.weigh(repeat(1, 30))
	busy.claim()
	busyDone := make(chan struct{})
	go func() { busy.work(); close(busyDone) }()
	began.Wait()
	// Three long probes that end only once all three have begun.
	var all sync.WaitGroup
	all.Add(3)
	allBegan := make(chan struct{})
	go func() { all.Wait(); close(allBegan) }()
	heavy := newCrew(w, 3, 3, func(int) { all.Done(); <-allBegan })
	heavy.weigh(repeat(40, 3))
	heavy.claim()
	go func() { heavy.work(); close(heavyDone) }()
	waitQueued(t, w, heavy)
	for range 3 {
		tick <- struct{}{}
	}
	select {
	case <-heavyDone:
	case <-time.After(30 * time.Second):
		t.Fatal("the server with the most work left never got the tokens")
	}
	<-busyDone
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.free != 2 {
		t.Errorf("%d tokens free at the end, want 2", w.free)
	}
}

func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}

// waitQueued waits until c waits for a token.
func waitQueued(t *testing.T, w *workforce, c *crew) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		w.mu.Lock()
		queued := c.index >= 0
		w.mu.Unlock()
		if queued {
			return
		}
		if time.Now().After(end) {
			t.Fatal("the crew never queued for a token")
		}
	}
}

// TestCrowdedOrder: a server that cannot start all its probes at once
// runs the SMTP relay tests first, port 25 before submission before
// smtps, listed before discovered; the rest keep the plan's order.
func TestCrowdedOrder(t *testing.T) {
	mk := func(service string, listed bool) Target {
		return Target{Target: observe.Target{Service: service}, Listed: listed}
	}
	targets := []Target{mk("imap", true), mk("pop3", true), mk("ssh", true), mk("smtps", true), mk("submission", true), mk("smtp", true),
		mk("imaps", false), mk("telnet", false), mk("ntp", false), mk("submission", false)}
	crowded(targets)
	var got []string
	for _, tg := range targets {
		s := tg.Service
		if !tg.Listed {
			s += "?"
		}
		got = append(got, s)
	}
	want := "smtp submission smtps submission? imap pop3 ssh imaps? telnet? ntp?"
	if strings.Join(got, " ") != want {
		t.Errorf("crowded order %q, want %q", strings.Join(got, " "), want)
	}
}
