package input

import (
	"crypto/sha256"
	"fmt"

	lru "github.com/hashicorp/golang-lru/v2"
)

// Cache keeps the Facts of the workflow files parsed most recently, keyed by
// the SHA-256 of their bytes: the same file shows up in many runs, and its
// facts depend on nothing else. It is safe for concurrent use.
type Cache struct {
	facts *lru.Cache[[sha256.Size]byte, *Facts]
}

// NewCache returns a cache that holds the facts of at most size files
// (at least one).
func NewCache(size int) *Cache {
	facts, err := lru.New[[sha256.Size]byte, *Facts](max(size, 1))
	if err != nil {
		panic(err) // unreachable: the size is positive
	}
	return &Cache{facts: facts}
}

// Get returns the facts of src, parsing it only when no file with the same
// bytes is in the cache. Errors are those of Parse and are not cached.
func (c *Cache) Get(path string, src []byte) (*Facts, error) {
	if len(src) > MaxWorkflowSize {
		return Parse(path, src) // refused before hashing megabytes
	}
	sum := sha256.Sum256(src)
	if f, ok := c.facts.Get(sum); ok {
		return f, nil
	}
	if err := checkBytes(src); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	f, err := parse(path, src, sum)
	if err != nil {
		return nil, err
	}
	c.facts.Add(sum, f)
	return f, nil
}

// Len returns the number of files in the cache.
func (c *Cache) Len() int { return c.facts.Len() }
