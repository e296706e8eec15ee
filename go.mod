module github.com/neuronlens/neuronlens

go 1.26.0

require (
	github.com/nlpodyssey/spago v1.1.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	golang.org/x/sys v0.50.0 // indirect
	gonum.org/v1/gonum v0.17.0 // indirect
)
