// Package scoring holds what kensa grades with and how: the checklist
// (a Catalog of graded categories, their items and the supplementary
// items that are reported but never graded), the four outcomes of an
// item on a server, the Verdict that carries an outcome with its source,
// reason and evidence, and the category-average method that turns
// verdicts into rates and grades A to D.
//
// It knows nothing of networks, probes, observations or files of
// results: the rules (package rules) decide verdicts, and scoring only
// combines and counts them. It is a package of its own so that another
// inspection type can be graded by the same engine from a catalog file
// (LoadCatalog, kensa grade --catalog); the mail-server catalog is built
// in, embedded from mail.yaml.
//
// # Outcomes and verdicts
//
// An item on a server is pass, fail, unknown (it applies but could not
// be verified) or na (it does not apply). Which services make an item
// apply is data of the catalog (Item.AppliesTo; empty means every
// server), not code.
//
// Combine merges a probe verdict with a declaration from the inventory:
// an na item stays na; a declaration fills in an unknown probe; where
// probe and declaration disagree on pass and fail, the worse counts and
// the verdict is marked as a discrepancy, keeping both what the probe
// saw and what was declared.
//
// # The category-average method
//
// Grade groups servers by organisation, by organisation and unit (units
// are never pooled across organisations), or all together, and for each
// group computes:
//
//   - item rate = passing servers / servers the item applies to (pass,
//     fail and unknown) × 100; with ExcludeUnknown, unknown outcomes
//     leave the denominator;
//   - category rate = mean of the rates of its items that have one;
//   - overall rate = mean of the rates of the categories that have one;
//   - grade (GradeOf): A exactly 100, B from 80, C from 60, D below.
//
// Everything is computed with exact rationals (math/big), so A means
// that every applicable item passed on every server, never a value that
// rounds to 100. Supplementary items get rates but never enter a
// category or a grade. A group with an unknown outcome of a graded item
// is never graded A under either unknown policy, nor is any group while
// servers are missing whose group is not known: its grade is B and
// marked withheld.
// A server of the inventory without a record (MissingVerdicts) is
// unknown for every item its listed services make apply, and makes the
// table PARTIAL.
//
// # The display rule
//
// FormatRate shows a rate with one decimal, rounding half up, except
// that a value below 60, 80 or 100 that would round up to it is shown
// 59.9, 79.9 or 99.9: a shown rate never contradicts its grade. Every
// report shows rates this way.
package scoring
