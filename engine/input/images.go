package input

import (
	"cmp"
	"slices"
	"strings"

	"github.com/rhysd/actionlint"
)

// images records a job's container and service images. GitHub pulls and
// runs them like a docker:// step, so each becomes a docker reference in
// Uses (Step nil, Source container or service) that the allow list, the
// compromised list and pinning judge; an image that reads matrix values
// the file lists becomes one reference per value. An image an expression
// decides at run time is marked dynamic instead.
func (n *normalizer) images(job *Job, j *actionlint.Job, id string, matrix func() matrixValues) {
	job.Services = map[string]*Service{}
	if c := j.Container; c != nil && c.Image != nil && c.Image.Pos != nil {
		values, ok := imageValues(c.Image.Value, matrix)
		job.ContainerDynamic = !ok
		for _, v := range values {
			n.addImage(v, id, c.Image.Pos.Line, SourceContainer)
		}
	}
	s := j.Services
	if s == nil {
		return
	}
	if e := s.Expression; e != nil && e.Pos != nil {
		// services: ${{ … }} names neither the services nor their images.
		job.Services[e.Value] = &Service{Image: e.Value, Line: e.Pos.Line, Dynamic: true}
	}
	for _, svc := range sortedServices(s.Value) {
		line := svc.Name.Pos.Line
		image := ""
		var values []string
		ok := true
		if c := svc.Container; c != nil && c.Image != nil {
			image = c.Image.Value
			if c.Image.Pos != nil {
				line = c.Image.Pos.Line
			}
			values, ok = imageValues(image, matrix)
		}
		job.Services[svc.Name.Value] = &Service{Image: image, Line: line, Dynamic: !ok}
		for _, v := range values {
			n.addImage(v, id, line, SourceService)
		}
	}
}

// addImage adds an image as a docker reference. Images are written without
// docker:// (node:18, ghcr.io/x/y@sha256:…); with it, the reference gets the
// same raw text and names as a docker:// step.
func (n *normalizer) addImage(image, job string, line int, source string) {
	raw := image
	if !strings.HasPrefix(strings.ToLower(raw), "docker://") {
		raw = "docker://" + raw
	} else {
		raw = "docker://" + raw[len("docker://"):]
	}
	u := ParseUses(raw, false)
	u.Job, u.Line, u.Source = job, line, source
	n.addUse(u)
}

// imageValues returns the images an image field can be: itself when it
// holds no expression, every distinct value when it reads matrix values
// the file lists. ok is false when an expression decides it at run time.
// An empty image starts no container.
func imageValues(image string, matrix func() matrixValues) (values []string, ok bool) {
	if !strings.Contains(image, "${{") {
		if strings.TrimSpace(image) == "" {
			return nil, true
		}
		return []string{image}, true
	}
	t, ok := parseTemplate(image)
	if !ok {
		return nil, false
	}
	mv := matrix()
	if !mv.known {
		return nil, false
	}
	seen := map[string]bool{}
	for _, c := range mv.combinations {
		texts, ok := t.render(c)
		if !ok {
			return nil, false
		}
		for _, text := range texts {
			if strings.TrimSpace(text) == "" || seen[text] {
				continue
			}
			seen[text] = true
			if values = append(values, text); len(values) > maxCandidates {
				return nil, false
			}
		}
	}
	if len(values) == 0 {
		// No combination gives an image: this reading of the matrix is
		// not GitHub's, so the image stays decided at run time.
		return nil, false
	}
	return values, true
}

// sortedServices returns the services in file order; actionlint keeps them
// in a map.
func sortedServices(services map[string]*actionlint.Service) []*actionlint.Service {
	out := make([]*actionlint.Service, 0, len(services))
	for _, s := range services {
		if s != nil && s.Name != nil && s.Name.Pos != nil {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b *actionlint.Service) int {
		return cmp.Or(cmp.Compare(a.Name.Pos.Line, b.Name.Pos.Line), cmp.Compare(a.Name.Pos.Col, b.Name.Pos.Col), strings.Compare(a.Name.Value, b.Name.Value))
	})
	return out
}

// imageCount is how many images a job names before matrix values expand
// them: its container and its services.
func imageCount(j *actionlint.Job) int {
	n := 0
	if j.Container != nil {
		n++
	}
	if j.Services != nil {
		n += len(j.Services.Value)
	}
	return n
}
