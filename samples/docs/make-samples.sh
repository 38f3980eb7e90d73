#!/bin/sh
# Regenerates the sample documents in this folder from their sources.
# Needs Ghostscript (Debian package ghostscript). The generated PDF is kept
# in the repository because tests read it. The Omit* options leave out the
# dates and document ID, so the same Ghostscript gives the same bytes.
set -eu
cd "$(dirname "$0")"
gs -q -dSAFER -dBATCH -dNOPAUSE -sDEVICE=pdfwrite -sPAPERSIZE=a4 \
   -dOmitID -dOmitXMP -dOmitInfoDate \
   -o three-pages.pdf three-pages.ps
