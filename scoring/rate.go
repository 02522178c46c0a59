package scoring

import (
	"fmt"
	"math/big"
)

// Grade thresholds of the category-average method, in percent.
var (
	hundred = big.NewRat(100, 1)
	eighty  = big.NewRat(80, 1)
	sixty   = big.NewRat(60, 1)
)

// GradeOf returns the grade of an overall rate in percent: A exactly 100,
// B from 80 up to but excluding 100, C from 60 below 80, D below 60.
func GradeOf(rate *big.Rat) string {
	switch {
	case rate.Cmp(hundred) >= 0:
		return "A"
	case rate.Cmp(eighty) >= 0:
		return "B"
	case rate.Cmp(sixty) >= 0:
		return "C"
	}
	return "D"
}

// FormatRate shows a rate in percent with one decimal, rounding half up,
// except that a value below a grade boundary (60, 80, 100) that would
// round up to it is shown one tenth below (59.9, 79.9, 99.9), so a shown
// value never contradicts its grade. A nil rate is shown as "-".
func FormatRate(rate *big.Rat) string {
	if rate == nil {
		return "-"
	}
	// Rates are never negative, so tenths = floor(rate*10 + 1/2) is the
	// truncated quotient.
	x := new(big.Rat).Mul(rate, big.NewRat(10, 1))
	x.Add(x, big.NewRat(1, 2))
	tenths := new(big.Int).Quo(x.Num(), x.Denom())
	for _, b := range []int64{600, 800, 1000} {
		if tenths.Cmp(big.NewInt(b)) == 0 && rate.Cmp(big.NewRat(b, 10)) < 0 {
			tenths.SetInt64(b - 1)
		}
	}
	q, r := new(big.Int).QuoRem(tenths, big.NewInt(10), new(big.Int))
	return fmt.Sprintf("%s.%s", q, r)
}

// Percent returns num/den × 100 as an exact rational, or nil when den is 0.
func Percent(num, den int) *big.Rat {
	if den == 0 {
		return nil
	}
	return big.NewRat(int64(num)*100, int64(den))
}

// Mean returns the exact mean of the non-nil rates, or nil when there are
// none.
func Mean(rates []*big.Rat) *big.Rat {
	sum := new(big.Rat)
	n := 0
	for _, r := range rates {
		if r == nil {
			continue
		}
		sum.Add(sum, r)
		n++
	}
	if n == 0 {
		return nil
	}
	return sum.Quo(sum, big.NewRat(int64(n), 1))
}
