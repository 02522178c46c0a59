package scan

import (
	"context"
	"testing"
	"time"
)

// TestSlotsPriority: waiters are served by priority, then in order, and a
// waiter that gives up does not lose the slot for the others.
func TestSlotsPriority(t *testing.T) {
	s := newSlots(1)
	if err := s.acquire(context.Background(), prioRest); err != nil {
		t.Fatal(err)
	}
	order := make(chan int, 4)
	start := func(prio, id int, ctx context.Context) {
		go func() {
			if s.acquire(ctx, prio) == nil {
				order <- id
				s.release()
			}
		}()
	}
	waitFor := func(n int) {
		for {
			s.mu.Lock()
			got := len(s.waiters)
			s.mu.Unlock()
			if got == n {
				return
			}
			time.Sleep(time.Millisecond)
		}
	}
	start(prioRest, 1, context.Background())
	waitFor(1)
	start(prioStart, 2, context.Background())
	waitFor(2)
	gone, cancel := context.WithCancel(context.Background())
	start(prioSlow, 3, gone)
	waitFor(3)
	cancel() // gives up before any slot is free
	waitFor(2)
	start(prioSlow, 4, context.Background())
	waitFor(3)
	s.release()
	var got []int
	for i := 0; i < 3; i++ {
		got = append(got, <-order)
	}
	if got[0] != 4 || got[1] != 2 || got[2] != 1 {
		t.Fatalf("served in order %v, want [4 2 1]", got)
	}
	// The last waiter gives its slot back just after it said it was
	// served: wait for that, under the lock.
	free := func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.free
	}
	for deadline := time.Now().Add(10 * time.Second); free() != 1 && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	if n := free(); n != 1 {
		t.Fatalf("%d free slots at the end", n)
	}
}

// queued returns how many acquires wait for a slot.
func (s *slots) queued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.waiters)
}
