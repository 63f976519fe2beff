"""Translation models behind one seam: a model kind is one module here.

Each kind (`argos`, `opus-mt`, `nllb`) recognises its folders from their files and loads
them into a `ModelInfo`: identity (kind, name, version, file fingerprint) and token
conventions (tokenizer files, the tokens a real model of that kind expects around the
source and before the target).  One CTranslate2 engine (`engine.CTranslate2Engine`)
decodes every kind through those conventions, so glossary enforcement, the memory and
the batch runner see one interface and no kind-specific branch.

Nothing here imports CTranslate2; `load_engine` does, when a model is first needed.

`base` holds the model description and the kinds' shared helpers; `registry` the kinds
and finding, loading and installing models; `decoder` where chunks are decoded.
"""
