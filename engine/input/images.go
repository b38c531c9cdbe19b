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
// decides at run time is marked dynamic, and every literal value beside it
// (a matrix row [redis, "${{ vars.IMAGE }}"]) is still a reference.
func (n *normalizer) images(job *Job, j *actionlint.Job, id string, matrix func() matrixValues) {
	job.Services = map[string]*Service{}
	if c := j.Container; c != nil && c.Image != nil && c.Image.Pos != nil {
		values, dynamic := imageValues(c.Image.Value, matrix)
		job.ContainerDynamic = dynamic
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
		dynamic := false
		if c := svc.Container; c != nil && c.Image != nil {
			image = c.Image.Value
			if c.Image.Pos != nil {
				line = c.Image.Pos.Line
			}
			values, dynamic = imageValues(image, matrix)
		}
		job.Services[svc.Name.Value] = &Service{Image: image, Line: line, Dynamic: dynamic}
		for _, v := range values {
			n.addImage(v, id, line, SourceService)
		}
	}
}

// addImage adds an image as a docker reference. Images are written without
// docker:// (node:18, ghcr.io/x/y@sha256:…); with it, the reference gets the
// same raw text and names as a docker:// step. The runner hands the image
// to docker on a command line, which drops the whitespace around it.
func (n *normalizer) addImage(image, job string, line int, source string) {
	raw := strings.TrimSpace(image)
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
// holds no expression, every distinct literal value when it reads matrix
// values. dynamic is true when an expression decides an image at run time;
// the literal values are returned all the same. An empty image starts no
// container.
func imageValues(image string, matrix func() matrixValues) (values []string, dynamic bool) {
	if !strings.Contains(image, "${{") {
		if strings.TrimSpace(image) == "" {
			return nil, false
		}
		return []string{image}, false
	}
	t, ok := parseTemplate(image)
	if !ok {
		return nil, true
	}
	mv := matrix()
	if !mv.known {
		return nil, true
	}
	dynamic = mv.unsure
	seen := map[string]bool{}
	for _, c := range mv.combinations {
		for _, text := range t.renderOr(c) {
			text = strings.TrimSpace(text)
			if strings.Contains(text, "${{") {
				dynamic = true
				continue
			}
			if text == "" || seen[text] {
				continue
			}
			seen[text] = true
			if values = append(values, text); len(values) > maxCandidates {
				return nil, true
			}
		}
	}
	if len(values) == 0 {
		// No combination gives an image: this reading of the matrix is
		// not GitHub's, so the image stays decided at run time.
		return nil, true
	}
	return values, dynamic
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
