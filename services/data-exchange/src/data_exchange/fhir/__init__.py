"""FHIR R4 edge of data exchange: profile validation, mapping to the clinical model, search, bundles. Pure, no I/O."""
