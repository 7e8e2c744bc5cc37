package sticky

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// Signatures and verified values are compared by crypto/subtle, whose
// comparison Go keeps constant-time, never by a loop of our own: the
// compiler promises nothing about one (docs/contract.md, Sticky cookie).
// A hand-written comparison shows as a loop that XORs bytes.
func TestComparisonsAreCryptoSubtle(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			var body *ast.BlockStmt
			switch l := n.(type) {
			case *ast.ForStmt:
				body = l.Body
			case *ast.RangeStmt:
				body = l.Body
			default:
				return true
			}
			ast.Inspect(body, func(m ast.Node) bool {
				if x, ok := m.(*ast.BinaryExpr); ok && x.Op == token.XOR {
					t.Errorf("%s: a loop XORs bytes: compare with crypto/subtle", fset.Position(x.Pos()))
				}
				return true
			})
			return true
		})
	}
}
