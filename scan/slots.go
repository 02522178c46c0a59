package scan

import (
	"container/heap"
	"context"
	"sync"
)

// Priorities of connection slots, most urgent first.
const (
	// prioSlow is for servers that have already made a probe wait for a
	// timeout: they are likely the slowest of the scan, and the scan
	// ends only when they do, so they never queue behind quick ones.
	prioSlow = 0
	// prioStart is for a server's first connection, prioStart+k for its
	// k+1-th of the first hostConns: every server's first connection
	// goes before any server's second, and so on, so that every server
	// starts early, slow ones included (the first connection is what
	// shows a server slow), whatever its place in the inventory.
	prioStart = 1
	// prioRest is for everything else.
	prioRest = 1 << 16
)

// slots is a counting semaphore of open connections whose waiters are
// served by priority, then in arrival order.
type slots struct {
	mu      sync.Mutex
	free    int
	seq     uint64
	waiters waitHeap
}

func newSlots(n int) *slots { return &slots{free: n} }

type waiter struct {
	prio    int
	seq     uint64
	ready   chan struct{}
	granted bool
	index   int
}

type waitHeap []*waiter

func (h waitHeap) Len() int { return len(h) }
func (h waitHeap) Less(i, j int) bool {
	if h[i].prio != h[j].prio {
		return h[i].prio < h[j].prio
	}
	return h[i].seq < h[j].seq
}
func (h waitHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *waitHeap) Push(x any) {
	w := x.(*waiter)
	w.index = len(*h)
	*h = append(*h, w)
}
func (h *waitHeap) Pop() any {
	old := *h
	w := old[len(old)-1]
	*h = old[:len(old)-1]
	w.index = -1
	return w
}

// acquire takes a slot, waiting with priority prio until one is free or
// ctx ends.
func (s *slots) acquire(ctx context.Context, prio int) error {
	return s.acquireAs(ctx, prio, nil)
}

// acquireAs is acquire; while it waits, its waiter is in q (if not
// nil), whose priority raise can change.
func (s *slots) acquireAs(ctx context.Context, prio int, q *queuedSet) error {
	s.mu.Lock()
	if s.free > 0 && len(s.waiters) == 0 {
		s.free--
		s.mu.Unlock()
		return nil
	}
	s.seq++
	w := &waiter{prio: prio, seq: s.seq, ready: make(chan struct{})}
	heap.Push(&s.waiters, w)
	if q != nil {
		// Under s.mu, so that raise cannot miss a waiter in the heap.
		q.add(w)
		defer q.remove(w)
	}
	s.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		s.mu.Lock()
		defer s.mu.Unlock()
		if w.granted {
			// Granted while giving up: hand the slot on.
			s.releaseLocked()
		} else {
			heap.Remove(&s.waiters, w.index)
		}
		return ctx.Err()
	}
}

// raise gives the waiters of q priority prio, if more urgent than
// theirs, in their place among the waiters of that priority by arrival.
func (s *slots) raise(q *queuedSet, prio int) {
	ws := q.list()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, w := range ws {
		if w.index < 0 || w.granted || w.prio <= prio {
			continue
		}
		w.prio = prio
		heap.Fix(&s.waiters, w.index)
	}
}

// queuedSet holds the waiters of one server (hostDialer) while they
// wait for a slot.
type queuedSet struct {
	mu sync.Mutex
	ws map[*waiter]struct{}
}

func (q *queuedSet) add(w *waiter) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.ws == nil {
		q.ws = map[*waiter]struct{}{}
	}
	q.ws[w] = struct{}{}
}

func (q *queuedSet) remove(w *waiter) {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.ws, w)
}

func (q *queuedSet) list() []*waiter {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]*waiter, 0, len(q.ws))
	for w := range q.ws {
		out = append(out, w)
	}
	return out
}

// tryAcquire takes a slot if one is free now and nobody waits for one.
func (s *slots) tryAcquire() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.free > 0 && len(s.waiters) == 0 {
		s.free--
		return true
	}
	return false
}

// release gives a slot back, to the most urgent waiter if any.
func (s *slots) release() {
	s.mu.Lock()
	s.releaseLocked()
	s.mu.Unlock()
}

func (s *slots) releaseLocked() {
	if len(s.waiters) > 0 {
		w := heap.Pop(&s.waiters).(*waiter)
		w.granted = true
		close(w.ready)
		return
	}
	s.free++
}
