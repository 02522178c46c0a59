package fleet

// ServeAll validates the plan and starts every host of it in this
// process; stop closes them all. On error nothing is left running.
func ServeAll(p *Plan) (running []*Running, stop func(), err error) {
	if err := p.Validate(); err != nil {
		return nil, nil, err
	}
	if running, err = Serve(p, 0, len(p.Hosts)); err != nil {
		return nil, nil, err
	}
	return running, func() {
		for _, r := range running {
			r.Close()
		}
	}, nil
}
