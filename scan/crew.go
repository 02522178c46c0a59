package scan

import (
	"container/heap"
	"sync"
	"sync/atomic"
)

// A crew runs the probes of one server's targets, in order, on up to
// size workers. The server's own goroutine is the first worker; each
// other one holds a token of the scan's workforce, since a goroutine's
// stack is a large part of a server's memory and a worker that could not
// get a connection would only wait.
//
// A crew takes the tokens free when its server starts; while targets are
// left untaken and it has room for more workers, it queues at the
// workforce, which hands each token given back to the most urgent crew
// waiting: those of slow servers (hostDialer.markSlow) first, then the
// crew with the most work left per worker (weight), then in order of
// arrival. The scan ends only when its slowest server does, and a slow
// server whose probes ran one after the other instead of side by side
// (a silent one that makes each probe wait for a timeout, say) would
// end it late; so would, in a crowded scan, a server whose probes all
// ran on its first worker (measured on the bench fleet: the last
// servers to end were those that never got a second worker, with five
// probes queued behind a long relay test). For the same reasons a
// worker of a server that is not slow hands its token on, between two
// targets, when a slow server waits for one or a server with more work
// left per worker than its own would have without it.
type crew struct {
	w    *workforce
	size int
	n    int
	run  func(i int) // probes target i
	// after[i] is the weight of the targets from i on (weigh); nil
	// counts every target as one.
	after []int

	next     atomic.Int64 // index of the next target to take
	finished atomic.Int64 // weight of the targets probed
	wg       sync.WaitGroup

	// Guarded by w.mu.
	running int  // workers, the first included
	slow    bool // the server was slow: its crew waits ahead
	share   int  // work left per worker, times 16, when queued
	seq     uint64
	index   int // in w.waiting; -1 when not waiting
}

// newCrew returns the crew of a server with n targets and at most size
// workers; run probes one target.
func newCrew(w *workforce, size, n int, run func(i int)) *crew {
	size = max(1, min(size, n))
	return &crew{w: w, size: size, n: n, run: run, running: 1, index: -1}
}

// claim takes the tokens free now for the first workers and returns how
// many workers will start at once, the first included.
func (c *crew) claim() int {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	for c.running < c.size && c.w.free > 0 && len(c.w.waiting) == 0 {
		c.w.free--
		c.running++
	}
	return c.running
}

// work runs the first worker and the others until every target is
// probed.
func (c *crew) work() {
	c.w.mu.Lock()
	for k := 1; k < c.running; k++ {
		c.wg.Add(1)
		go c.extra()
	}
	c.w.queueLocked(c)
	c.w.giveLocked()
	c.w.mu.Unlock()
	c.loop(false)
	c.wg.Wait()
}

// turnedSlow moves the crew ahead of those of servers that are not slow.
func (c *crew) turnedSlow() {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	if c.slow {
		return
	}
	c.slow = true
	if c.index >= 0 {
		heap.Fix(&c.w.waiting, c.index)
	}
}

// left reports whether some target is still to be taken.
func (c *crew) left() bool { return c.next.Load() < int64(c.n) }

// loop probes targets until none is left or, for a worker with a token,
// until it hands the token on.
func (c *crew) loop(token bool) {
	for {
		i := int(c.next.Add(1)) - 1
		if i >= c.n {
			return
		}
		if i == c.n-1 {
			c.w.drop(c) // nothing left for another worker
		}
		c.run(i)
		c.finished.Add(int64(c.weightOf(i)))
		if token && c.w.handOn(c) {
			return
		}
	}
}

// extra is a worker holding a token.
func (c *crew) extra() {
	defer c.wg.Done()
	c.loop(true)
	c.w.release(c)
}

// workforce holds the tokens of the workers that crews run beyond their
// first, and the crews waiting for one.
type workforce struct {
	mu      sync.Mutex
	free    int
	seq     uint64
	waiting crewHeap
}

func newWorkforce(n int) *workforce { return &workforce{free: n} }

// queueLocked puts c in the queue if it has room for a worker and
// targets left for one.
func (w *workforce) queueLocked(c *crew) {
	if c.index >= 0 || c.running >= c.size || !c.left() {
		return
	}
	w.seq++
	c.seq = w.seq
	c.share = c.perWorker()
	heap.Push(&w.waiting, c)
}

// perWorker returns the work left per worker, times 16.
func (c *crew) perWorker() int {
	return c.workLeft() * 16 / c.running
}

// workLeft returns the weight of the targets not yet probed, those in
// progress included: a crew whose workers are all busy with long probes
// still has that much to do.
func (c *crew) workLeft() int {
	total := c.n
	if c.after != nil {
		total = c.after[0]
	}
	return max(0, total-int(c.finished.Load()))
}

// weightOf returns the weight of target i.
func (c *crew) weightOf(i int) int {
	if c.after == nil {
		return 1
	}
	return c.after[i] - c.after[i+1]
}

// weigh sets the weights of the crew's targets, in order, before it
// works: how long each probe is likely to take, roughly (weight).
func (c *crew) weigh(weights []int) {
	c.after = make([]int, c.n+1)
	for i := c.n - 1; i >= 0; i-- {
		c.after[i] = c.after[i+1] + weights[i]
	}
}

// drop takes c out of the queue: no target is left for another worker.
func (w *workforce) drop(c *crew) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c.index >= 0 {
		heap.Remove(&w.waiting, c.index)
	}
}

// release gives back the token of a worker of c that has left: c
// queues again if targets are left, and the token goes to the most
// urgent crew waiting, or stays free.
func (w *workforce) release(c *crew) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c.running--
	w.free++
	w.queueLocked(c)
	w.giveLocked()
}

// handOn reports whether a worker of c with a token should leave, with
// targets of c still to take, so that a crew that needs the token more
// gets it: a slow server's (c is not slow), or one with more work left
// per worker than c would have without this worker. Tokens given
// back only when a crew runs out of targets would stay with the servers
// that started first, while the others ran their probes one after the
// other.
func (w *workforce) handOn(c *crew) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if c.slow || !c.left() || len(w.waiting) == 0 {
		return false
	}
	if !w.waiting[0].slow {
		// The head's share was counted when it queued: count again.
		h := w.waiting[0]
		h.share = h.perWorker()
		heap.Fix(&w.waiting, 0)
	}
	h := w.waiting[0]
	if h.slow {
		return true
	}
	mine := c.workLeft() * 16 / max(1, c.running-1)
	return h.share > mine
}

// giveLocked gives the free tokens to the most urgent waiting crews,
// each of which starts a worker with its token.
func (w *workforce) giveLocked() {
	for w.free > 0 && len(w.waiting) > 0 {
		c := w.waiting[0]
		if c.running >= c.size || !c.left() {
			heap.Pop(&w.waiting)
			continue
		}
		w.free--
		c.running++
		if c.running >= c.size {
			heap.Pop(&w.waiting)
		} else if !c.slow {
			// A slow server is filled first; the others in turn, the
			// one with the most work left per worker first.
			w.seq++
			c.seq = w.seq
			c.share = c.perWorker()
			heap.Fix(&w.waiting, 0)
		}
		c.wg.Add(1)
		go c.extra()
	}
}

// crewHeap orders waiting crews: slow servers first, then by work left
// per worker (as when they queued or last got a worker), then by
// arrival.
type crewHeap []*crew

func (h crewHeap) Len() int { return len(h) }
func (h crewHeap) Less(i, j int) bool {
	if h[i].slow != h[j].slow {
		return h[i].slow
	}
	if h[i].share != h[j].share {
		return h[i].share > h[j].share
	}
	return h[i].seq < h[j].seq
}
func (h crewHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index, h[j].index = i, j
}
func (h *crewHeap) Push(x any) {
	c := x.(*crew)
	c.index = len(*h)
	*h = append(*h, c)
}
func (h *crewHeap) Pop() any {
	old := *h
	c := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	c.index = -1
	return c
}
