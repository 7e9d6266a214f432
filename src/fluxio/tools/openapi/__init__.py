"""Import OpenAPI 3.x services as fluxio tools: one tool per operation, called over HTTP.

```python
tools = await import_openapi("petstore.yaml", prefix="pets_", auth=AuthConfig.bearer("PET_TOKEN"))
```

See docs/openapi.md for how parameters, bodies, responses and auth map onto tool contracts.
"""

from fluxio.tools.openapi.auth import AuthConfig
from fluxio.tools.openapi.contracts import contract_of
from fluxio.tools.openapi.document import OpenAPIDocument, load_document
from fluxio.tools.openapi.executor import HttpCall, HttpRequest
from fluxio.tools.openapi.importer import http_call_of, import_openapi, register_openapi
from fluxio.tools.openapi.inputs import Argument, RequestInputs
from fluxio.tools.openapi.operations import ErrorResponse, Operation, read_operations
from fluxio.tools.openapi.saved import SavedImport, load_saved_imports

__all__ = [
    "Argument",
    "AuthConfig",
    "ErrorResponse",
    "HttpCall",
    "HttpRequest",
    "OpenAPIDocument",
    "Operation",
    "RequestInputs",
    "SavedImport",
    "contract_of",
    "http_call_of",
    "import_openapi",
    "load_document",
    "load_saved_imports",
    "read_operations",
    "register_openapi",
]
