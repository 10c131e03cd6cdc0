"""Customer service: knowledge bases (FAQ tables, past tickets, documents), hybrid retrieval (BM25 + dense vectors,
fused by reciprocal rank) and ticket replies grounded in the passages they cite.

Modules: ``sources`` (readers), ``chunking``, ``textproc`` (BM25 tokens, Chinese through jieba), ``index`` (the
on-disk hybrid index), ``kb`` (owned, versioned knowledge bases in the store), ``reply`` (drafting and checks),
``jobs`` (index build and batch replies as background jobs). See docs/support.md.
"""
