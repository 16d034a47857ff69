"""Training the reader: the question/sentence cross-encoder that ``qa.reader`` runs.

Needs the ``train`` extra (torch, transformers). ``python -m qa.training`` builds pairs from
public question-answering data, fine-tunes, exports int8 ONNX, calibrates the answerer on
held-out articles and writes the model card; see ``qa/training/__main__.py``.
"""
