#!/bin/sh
# Regenerates pdf-attachment.eml: a short mail with a three-page PDF made
# by Ghostscript from a small PostScript program.
# Usage: samples/mail/make-pdf-sample.sh   (needs gs and base64)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cat > "$work/sample.ps" <<'PS'
%!PS-Adobe-3.0
/Helvetica-Bold findfont 28 scalefont setfont
1 1 3 {
  /n exch def
  72 760 moveto (faxgw sample document) show
  /Helvetica findfont 14 scalefont setfont
  72 720 moveto (Page ) show n 3 string cvs show ( of 3) show
  72 690 moveto (This PDF travels as a mail attachment and leaves as a fax.) show
  % A box and a diagonal so a fax of the page is easy to check by eye.
  2 setlinewidth
  72 200 451 400 rectstroke
  72 200 moveto 523 600 lineto stroke
  /Helvetica-Bold findfont 28 scalefont setfont
  showpage
} for
PS

gs -q -dSAFER -dBATCH -dNOPAUSE -sDEVICE=pdfwrite -sPAPERSIZE=a4 \
   -o "$work/sample.pdf" "$work/sample.ps"

{
  printf 'Message-ID: <pdf-attachment.sample@example.org>\n'
  printf 'From: Max Mustermann <max@example.org>\n'
  printf 'To: jane.doe=5551002@fax.example.com\n'
  printf 'Subject: Contract, three pages\n'
  printf 'Date: Tue, 4 Mar 2025 10:15:00 +0100\n'
  printf 'MIME-Version: 1.0\n'
  printf 'Content-Type: multipart/mixed; boundary="=-faxgw-sample-boundary"\n'
  printf '\n'
  printf 'This is a multi-part message in MIME format.\n'
  printf '\n'
  printf -- '--=-faxgw-sample-boundary\n'
  printf 'Content-Type: text/plain; charset=us-ascii\n'
  printf '\n'
  printf 'Dear Jane,\n\nplease find the contract attached.\n\nMax\n'
  printf '\n'
  printf -- '--=-faxgw-sample-boundary\n'
  printf 'Content-Type: application/pdf; name="contract.pdf"\n'
  printf 'Content-Transfer-Encoding: base64\n'
  printf 'Content-Disposition: attachment; filename="contract.pdf"\n'
  printf '\n'
  base64 -w 76 "$work/sample.pdf"
  printf '\n'
  printf -- '--=-faxgw-sample-boundary--\n'
} > "$here/pdf-attachment.eml"
echo "wrote $here/pdf-attachment.eml"
