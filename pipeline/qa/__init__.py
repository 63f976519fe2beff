"""Quality checks that say where a reviewer should look first.

`checks` holds the pure checks and their one registry (`CHECKS`: id, severity, scope,
description, the function); `numbers` reads the numbers of both languages; `run` runs the
checks over documents and groups the findings; `annotate` is the I/O edge that records
the findings in TEI files (`@ana`) and reports them.

    numbers              every number of the Chinese is in the English and no other one
                         (1.5万亿 = 1.5 trillion, 3000亿 = 300 billion, 百分之五 = 5%, 三 = 3)
    untranslated         Chinese characters left in the English
    empty                no English for a Chinese sentence
    truncated            English that stops short (no final punctuation, a dangling word)
    repetition           runaway repetition (a word or phrase over and over)
    term-missed          a glossary term whose approved rendering is not in the English
    term-inconsistent    one expression rendered two ways in one document (not a glossary
                         term: there the glossary decides)
    length-ratio         length ratio far from the rest of the document
    brackets             quotes or brackets unbalanced in the English but not in the Chinese
    question             a question in the Chinese that is not one in the English
    corpus-inconsistent  the same Chinese sentence translated differently elsewhere
    low-score            a machine translation the model itself scored low (below
                         ZHEN_LOW_SCORE, default 0.3: zhen.scores)

A new check is one function in `checks` and one line in `CHECKS`.
"""
