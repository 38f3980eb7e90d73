#!/bin/sh
# Regenerates the sample documents in this folder from their sources.
# Needs Ghostscript (Debian package ghostscript) for the PDF made from
# PostScript, and a C++ compiler with the development packages of cairo,
# Pango, GdkPixbuf (plus webp-pixbuf-loader) and libtiff for the pictures
# (make-images.cc). The generated files are kept in the repository because
# tests read them. The Omit* options leave out the dates and document ID, so
# the same Ghostscript gives the same bytes; make-images.cc seeds its noise.
set -eu
cd "$(dirname "$0")"
gs -q -dSAFER -dBATCH -dNOPAUSE -sDEVICE=pdfwrite -sPAPERSIZE=a4 \
   -dOmitID -dOmitXMP -dOmitInfoDate \
   -o three-pages.pdf three-pages.ps
# The serif letters embed their font (pdfwrite leaves the base 14 out by
# default), so every reader draws the same glyphs.
for size in 9 11; do
    gs -q -dSAFER -dBATCH -dNOPAUSE -sDEVICE=pdfwrite -sPAPERSIZE=a4 \
       -dOmitID -dOmitXMP -dOmitInfoDate -dSIZE=$size -dEmbedAllFonts=true \
       -o serif-letter-${size}pt.pdf -c "<< /NeverEmbed [ ] >> setdistillerparams" \
       -f serif-letter.ps
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
c++ -std=c++20 -O2 -o "$tmp/make-images" make-images.cc \
    $(pkg-config --cflags --libs pangocairo cairo-pdf gdk-pixbuf-2.0 libtiff-4) -lm
"$tmp/make-images"
# letter.docx: letter.txt saved as Word by LibreOffice (Debian
# libreoffice-writer-nogui), for the Office path of render_document.
soffice -env:UserInstallation=file://"$tmp"/lo-profile --headless \
    --convert-to docx:"MS Word 2007 XML" --outdir . letter.txt
