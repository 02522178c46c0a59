package scoring

import (
	"bytes"
	_ "embed"
	"fmt"
	"os"
	"regexp"

	"gopkg.in/yaml.v3"
)

// Category is a graded group of items, such as M (不正プログラム対策).
type Category struct {
	Code   string `yaml:"code" json:"code"`
	NameJA string `yaml:"name_ja" json:"name_ja"`
	NameEN string `yaml:"name_en" json:"name_en"`
}

// Item is one checklist item of a catalog.
type Item struct {
	Code string `yaml:"code" json:"code"`
	// Category is the code of the item's category. Supplementary items
	// name a category that is not graded (X in the mail-server catalog).
	Category string `yaml:"category" json:"category"`
	NameJA   string `yaml:"name_ja" json:"name_ja"`
	NameEN   string `yaml:"name_en" json:"name_en"`
	// Graded is false for supplementary items, which are reported but
	// never change a rate of a category or a grade.
	Graded bool `yaml:"graded" json:"graded"`
	// AppliesTo lists the services that make the item apply to a server;
	// an empty list means the item applies to every server.
	AppliesTo []string `yaml:"applies_to" json:"applies_to,omitempty"`
	// DecidedBy lists the services whose observations can decide the
	// item (the banners of M1, the NTP and greeting clocks of S3); empty
	// means AppliesTo. An item cannot pass while one of them was planned
	// but never probed.
	DecidedBy []string `yaml:"decided_by" json:"decided_by,omitempty"`
	// Method says in one line how the item is decided; MethodJA says it
	// in Japanese (optional: Describe falls back to Method).
	Method   string `yaml:"method" json:"method"`
	MethodJA string `yaml:"method_ja" json:"method_ja,omitempty"`
}

// Deciders returns the services whose observations can decide the item:
// DecidedBy, or AppliesTo when DecidedBy is empty.
func (it Item) Deciders() []string {
	if len(it.DecidedBy) > 0 {
		return it.DecidedBy
	}
	return it.AppliesTo
}

// Describe returns how the item is decided in the language lang ("ja"
// or "en"), in English when the catalog has no Japanese text.
func (it Item) Describe(lang string) string {
	if lang != "en" && it.MethodJA != "" {
		return it.MethodJA
	}
	return it.Method
}

// Name returns the item's name in the language lang ("ja" or "en").
func (it Item) Name(lang string) string {
	if lang == "en" {
		return it.NameEN
	}
	return it.NameJA
}

// Name returns the category's name in the language lang ("ja" or "en").
func (c Category) Name(lang string) string {
	if lang == "en" {
		return c.NameEN
	}
	return c.NameJA
}

// Catalog is a set of items in graded categories. The mail-server catalog
// is built in (MailCatalog); other inspection types load theirs with
// LoadCatalog.
type Catalog struct {
	Name       string     `yaml:"name" json:"name"`
	Categories []Category `yaml:"categories" json:"categories"`
	Items      []Item     `yaml:"items" json:"items"`

	byCode map[string]int
}

//go:embed mail.yaml
var mailYAML []byte

// MailCatalog is the built-in catalog of the focused inspection of mail servers:
// categories M, S, A and P with items M1 M2 M3 S1 S2 S3 A1 P1, and the
// supplementary items X1 and X2.
var MailCatalog = mustCatalog(mailYAML)

func mustCatalog(b []byte) *Catalog {
	c, err := ParseCatalog(b)
	if err != nil {
		panic("built-in catalog: " + err.Error())
	}
	return c
}

// LoadCatalog reads a catalog from a YAML file.
func LoadCatalog(path string) (*Catalog, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	c, err := ParseCatalog(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

var codeRE = regexp.MustCompile(`^[A-Z][A-Z0-9]{0,7}$`)

// ParseCatalog decodes and validates a catalog in YAML: codes are unique,
// every item names a known category, and at least one item is graded.
func ParseCatalog(b []byte) (*Catalog, error) {
	var c Catalog
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	cats := map[string]bool{}
	for _, cat := range c.Categories {
		if !codeRE.MatchString(cat.Code) {
			return nil, fmt.Errorf("catalog: bad category code %q", cat.Code)
		}
		if cats[cat.Code] {
			return nil, fmt.Errorf("catalog: category %s defined twice", cat.Code)
		}
		cats[cat.Code] = true
	}
	c.byCode = map[string]int{}
	graded := 0
	for i, it := range c.Items {
		if !codeRE.MatchString(it.Code) {
			return nil, fmt.Errorf("catalog: bad item code %q", it.Code)
		}
		if _, dup := c.byCode[it.Code]; dup {
			return nil, fmt.Errorf("catalog: item %s defined twice", it.Code)
		}
		if it.Graded && !cats[it.Category] {
			return nil, fmt.Errorf("catalog: item %s names unknown category %q", it.Code, it.Category)
		}
		if it.Graded {
			graded++
		}
		c.byCode[it.Code] = i
	}
	if graded == 0 {
		return nil, fmt.Errorf("catalog: no graded item")
	}
	return &c, nil
}

// Item returns the item with the given code.
func (c *Catalog) Item(code string) (Item, bool) {
	i, ok := c.byCode[code]
	if !ok {
		return Item{}, false
	}
	return c.Items[i], true
}

// Category returns the category with the given code.
func (c *Catalog) Category(code string) (Category, bool) {
	for _, cat := range c.Categories {
		if cat.Code == code {
			return cat, true
		}
	}
	return Category{}, false
}

// Codes returns every item code in catalog order.
func (c *Catalog) Codes() []string {
	out := make([]string, len(c.Items))
	for i, it := range c.Items {
		out[i] = it.Code
	}
	return out
}

// Applies reports whether item applies to a server that runs the given
// services (names such as "smtp" or "imaps").
func (it Item) Applies(services map[string]bool) bool {
	if len(it.AppliesTo) == 0 {
		return true
	}
	for _, s := range it.AppliesTo {
		if services[s] {
			return true
		}
	}
	return false
}
