package catalog

import (
	"errors"
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/goldenpath/rds-provision/internal/yamledit"
)

// readOptions tell the YAML editor which document of a file is the
// catalog, and name it in messages.
var readOptions = yamledit.Options{Name: "catalog", Choose: chooseCatalog}

// load parses every document of src. A file of one document is the
// catalog; in a file of several (front matter, a second document), the
// catalog is the one document with a databases or rds_instance key, and
// the file is refused when that is not exactly one. An empty or
// comment-only file has no catalog document (Doc nil).
//
// A file over MaxFileSize is refused unparsed.
func load(src []byte) (*yamledit.File, error) {
	if len(src) > MaxFileSize {
		return nil, fmt.Errorf("%w: %d bytes, over the limit of %d (%d MiB); a catalog of application databases is a few hundred KiB", ErrTooLarge, len(src), MaxFileSize, MaxFileSize>>20)
	}
	return yamledit.Parse(src, readOptions)
}

// chooseCatalog picks the catalog among the documents with content.
func chooseCatalog(docs []*yaml.Node, content []int) (int, error) {
	var catalogs []int
	for _, i := range content {
		if r := docs[i].Content[0]; yamledit.KeyNode(r, "databases") != nil || yamledit.KeyNode(r, "rds_instance") != nil {
			catalogs = append(catalogs, i)
		}
	}
	index := -1
	switch {
	case len(content) == 0:
		return -1, nil
	case len(content) == 1:
		index = content[0]
	case len(catalogs) == 1:
		index = catalogs[0]
	case len(catalogs) == 0:
		return -1, fmt.Errorf("%w: the file holds %d YAML documents and none has a databases or rds_instance key, so none can be told to be the catalog; keep the catalog as the only document of its file, or give it its databases key", ErrLayout, len(content))
	default:
		return -1, fmt.Errorf("%w: the file holds %d YAML documents with a databases or rds_instance key; keep one catalog per file (rds-catalog-<env>.yaml for each environment)", ErrLayout, len(catalogs))
	}
	if docs[index].Content[0].Kind != yaml.MappingNode {
		return -1, errors.New("parse catalog: the file must be a YAML mapping")
	}
	return index, nil
}

// written is the editor's result, its refusals said as the catalog's.
func written(ed *yamledit.Editor) ([]byte, error) {
	out, err := ed.Result()
	var unsafe *yamledit.UnsafeError
	switch {
	case errors.As(err, &unsafe) && unsafe.Documents > 1:
		return nil, fmt.Errorf("%w: %s, and the file holds %d YAML documents that a rewrite would not keep; move the catalog into a file of its own or write the entry in block style", ErrLayout, unsafe.Reason, unsafe.Documents)
	case errors.As(err, &unsafe):
		return nil, fmt.Errorf("%w: %s", ErrLayout, unsafe.Reason)
	case err != nil:
		return nil, err
	}
	return out, nil
}
