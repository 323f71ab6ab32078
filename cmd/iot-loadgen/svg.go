package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// point is one x with a y per series.
type point struct {
	x float64
	y []float64
}

// plot writes a line chart with a logarithmic x axis as dir/name; dir ""
// writes nothing. Hand-written SVG: a plotting dependency for two charts
// would outweigh them.
func plot(dir, name, title, xlabel, ylabel string, series []string, pts []point) error {
	if dir == "" || len(pts) == 0 {
		return nil
	}
	const w, h, left, right, top, bottom = 640.0, 400.0, 70.0, 20.0, 40.0, 90.0
	minX, maxX, maxY := math.Log10(pts[0].x), math.Log10(pts[0].x), 0.0
	for _, p := range pts {
		minX, maxX = math.Min(minX, math.Log10(p.x)), math.Max(maxX, math.Log10(p.x))
		for _, y := range p.y {
			maxY = math.Max(maxY, y)
		}
	}
	if maxX == minX {
		maxX = minX + 1
	}
	maxY = niceCeil(maxY)
	px := func(x float64) float64 { return left + (math.Log10(x)-minX)/(maxX-minX)*(w-left-right) }
	py := func(y float64) float64 { return h - bottom - y/maxY*(h-top-bottom) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%g" height="%g" font-family="sans-serif" font-size="12">`+"\n", w, h)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="%g" y="22" font-size="14">%s</text>`+"\n", left, esc(title))
	fmt.Fprintf(&b, `<line x1="%g" y1="%g" x2="%g" y2="%g" stroke="black"/><line x1="%g" y1="%g" x2="%g" y2="%g" stroke="black"/>`+"\n",
		left, h-bottom, w-right, h-bottom, left, top, left, h-bottom)
	for i := 0; i <= 4; i++ {
		y := maxY * float64(i) / 4
		fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="end">%s</text><line x1="%g" y1="%g" x2="%g" y2="%g" stroke="#ddd"/>`+"\n",
			left-6, py(y)+4, fmt.Sprintf("%g", y), left, py(y), w-right, py(y))
	}
	for _, p := range pts {
		fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle">%s</text>`+"\n", px(p.x), h-bottom+16, trim(p.x))
	}
	fmt.Fprintf(&b, `<text x="%g" y="%g" text-anchor="middle">%s</text>`+"\n", (left+w-right)/2, h-bottom+34, esc(xlabel))
	fmt.Fprintf(&b, `<text x="14" y="%g" transform="rotate(-90 14 %g)" text-anchor="middle">%s</text>`+"\n", (top+h-bottom)/2, (top+h-bottom)/2, esc(ylabel))
	colors := []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b"}
	for s, label := range series {
		c := colors[s%len(colors)]
		var path []string
		for _, p := range pts {
			if s < len(p.y) {
				path = append(path, fmt.Sprintf("%.1f,%.1f", px(p.x), py(p.y[s])))
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`+"\n", px(p.x), py(p.y[s]), c)
			}
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", c, strings.Join(path, " "))
		ly := h - bottom + 52 + float64(s%2)*16
		lx := left + float64(s/2)*200
		fmt.Fprintf(&b, `<rect x="%g" y="%g" width="10" height="10" fill="%s"/><text x="%g" y="%g">%s</text>`+"\n", lx, ly-9, c, lx+14, ly, esc(label))
	}
	b.WriteString("</svg>\n")
	return os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644)
}

func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	e := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*e >= v {
			return m * e
		}
	}
	return 10 * e
}

func trim(v float64) string {
	switch {
	case v >= 1e6 && math.Mod(v, 1e6) == 0:
		return fmt.Sprintf("%gM", v/1e6)
	case v >= 1e3 && math.Mod(v, 1e3) == 0:
		return fmt.Sprintf("%gk", v/1e3)
	}
	return fmt.Sprintf("%.3g", v)
}

func esc(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
