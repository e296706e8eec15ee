// Command table1 measures the paper's Table 1 on the shapes world with the
// embedded shapes CLIP (internal/table1): zero-shot accuracy with the
// second-order effects of the late layers mean-ablated (lens.Ablate's
// variants (a)–(e)), with the whole layer mean-ablated (all its indirect
// effects), and the variance that PC1 explains for second-order and
// indirect effects, beside the paper's numbers.
//
//	go run ./examples/table1                          # print the table
//	go run ./examples/table1 -write README.md # and put it in README.md
//	go run ./examples/table1 -shapes-model shapes-b6  # a model retrained by examples/train
//
// -write replaces only the part of the file between the markers
// "<!-- table1:begin -->" and "<!-- table1:end -->" (appending them if the
// file has none), so text around the table survives a re-run.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/neuronlens/neuronlens/examples/internal/cli"
	"github.com/neuronlens/neuronlens/internal/shapesmodel"
	"github.com/neuronlens/neuronlens/internal/table1"
)

const (
	begin = "<!-- table1:begin -->"
	end   = "<!-- table1:end -->"
)

func main() {
	d := table1.Defaults
	cfg := table1.Config{}
	flag.Uint64Var(&cfg.Seed, "seed", d.Seed, "world seed (held-out images of it)")
	flag.IntVar(&cfg.StatsImages, "stats", d.StatsImages, "images for the second-order statistics and the activation means")
	flag.IntVar(&cfg.K, "k", d.K, "top images per neuron (the paper: 100 of 5,124, about 2%)")
	flag.IntVar(&cfg.AccuracyImages, "acc", d.AccuracyImages, "zero-shot test images")
	flag.IntVar(&cfg.IndirectImages, "indirect-images", d.IndirectImages, "images for the PC1 statistic of indirect effects")
	flag.IntVar(&cfg.IndirectNeurons, "indirect-neurons", d.IndirectNeurons, "neurons per layer for the PC1 statistic of indirect effects")
	flag.IntVar(&cfg.IndirectK, "indirect-k", d.IndirectK, "top images per neuron for the indirect PC1 statistic")
	flag.IntVar(&cfg.Workers, "workers", 0, "goroutines (0: GOMAXPROCS)")
	write := flag.String("write", "", "Markdown file to put the table in (between its table1 markers)")
	model := flag.String("shapes-model", "", cli.ShapesModelUsage)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, cfg, *model, *write); err != nil {
		fmt.Fprintln(os.Stderr, "table1:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, cfg table1.Config, dir, write string) error {
	m, name, err := cli.ShapesModel(dir)
	if err != nil {
		return err
	}
	report := shapesmodel.Report()
	if dir != "" {
		// The training report is optional: without it the line gives the
		// architecture only.
		report, _ = os.ReadFile(filepath.Join(dir, shapesmodel.ReportFile))
	}
	cfg.Progress = cli.Bar(os.Stderr)
	tab, err := table1.Run(ctx, m, cfg)
	if err != nil {
		return err
	}
	tab.Model = name + ", " + table1.ModelLine(m, report)
	cmd := "go run ./examples/table1"
	if args := os.Args[1:]; len(args) > 0 {
		cmd += " " + strings.Join(args, " ")
	}
	md := tab.Markdown(cmd)
	fmt.Println(md)
	if write == "" {
		return nil
	}
	return replaceBlock(write, md)
}

// replaceBlock puts md between the markers of the file at path, creating
// the file or appending the markers when needed.
func replaceBlock(path, md string) error {
	old, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	s := string(old)
	block := begin + "\n" + md + end
	i, j := strings.Index(s, begin), strings.Index(s, end)
	switch {
	case i >= 0 && j > i:
		s = s[:i] + block + s[j+len(end):]
	case i < 0 && j < 0:
		if s != "" && !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		s += block + "\n"
	default:
		return fmt.Errorf("%s: unmatched %s / %s markers", path, begin, end)
	}
	return os.WriteFile(path, []byte(s), 0o644)
}
