package pop3

// saslPlain is SASL PLAIN; its response goes out only after the
// server's continuation.
type saslPlain struct{ user, pass string }

func (s *saslPlain) Start() (string, []byte, error) {
	return "PLAIN", []byte("\x00" + s.user + "\x00" + s.pass), nil
}

func (s *saslPlain) Next([]byte) ([]byte, error) {
	return []byte("\x00" + s.user + "\x00" + s.pass), nil
}
