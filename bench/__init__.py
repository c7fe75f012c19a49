"""``make bench``: what Trustgate costs, as ratios measured within one run.

Every comparison interleaves its variants round by round and reports
medians, so a slower or busier machine shifts both sides alike. Nothing
here is a test: the targets are printed next to the figures, never asserted.
"""
