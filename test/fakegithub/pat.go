package fakegithub

import "time"

// AddPersonalToken makes the fake accept tok as a personal access token, as
// the command line's `eval --resolve --github-token` sends it.
func (s *Server) AddPersonalToken(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[tok] = token{expires: time.Now().Add(24 * time.Hour)}
}
