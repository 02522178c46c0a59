package main

// Commands that later work fills in.

func cmdProbe(e *env, args []string) error      { return badInput("probe: not built yet") }
func cmdAdvisories(e *env, args []string) error { return badInput("advisories: not built yet") }
func cmdFleet(e *env, args []string) error      { return badInput("fleet: not built yet") }
func cmdDemo(e *env, args []string) error       { return badInput("demo: not built yet") }
