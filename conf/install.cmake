# What `cmake --install build --prefix /usr` puts where, and the Debian
# package that `make package` builds from the same install (CPack DEB):
#
#   <prefix>/bin/faxgw                                faxgw/CMakeLists.txt
#   <prefix>/libexec/faxgw/faxgwd                     run, milter, poll, demo
#   <prefix>/share/man/man8/faxgw.8.gz, man5/faxgw.toml.5.gz
#   <prefix>/share/faxgw/samples/mail/*.eml           the demo's sample mails
#   <prefix>/share/doc/faxgw/README.md
#   <prefix>/share/doc/faxgw/examples/                conf/: Postfix, Sendmail,
#                                                     Asterisk, faxgw.toml
#   <prefix>/lib/systemd/system/faxgw*.service        conf/systemd/
#   /etc/faxgw/faxgw.toml (prefix /usr or /; else <prefix>/etc/faxgw)
#
# The units name /usr/bin/faxgw, /etc/faxgw and /var/lib/faxgw: they are
# for the package's install, prefix /usr. The state folder /var/lib/faxgw
# is made by the package (conf/debian/postinst) or by systemd
# (StateDirectory=).

install(DIRECTORY ${PROJECT_SOURCE_DIR}/samples/mail/
        DESTINATION ${CMAKE_INSTALL_DATADIR}/faxgw/samples/mail
        FILES_MATCHING PATTERN "*.eml" PATTERN corpus EXCLUDE)
install(FILES ${PROJECT_SOURCE_DIR}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY ${PROJECT_SOURCE_DIR}/conf/postfix ${PROJECT_SOURCE_DIR}/conf/sendmail
                  ${PROJECT_SOURCE_DIR}/conf/asterisk
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
install(FILES ${PROJECT_SOURCE_DIR}/conf/faxgw.toml ${PROJECT_SOURCE_DIR}/conf/relays.md
        DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples)
file(GLOB FAXGW_UNITS ${PROJECT_SOURCE_DIR}/conf/systemd/*.service)
install(FILES ${FAXGW_UNITS} DESTINATION lib/systemd/system)

# The installed configuration is the sample (every key at its default, with
# its documentation) with the service's state folder as paths.var, so that
# `faxgw jobs --config /etc/faxgw/faxgw.toml` looks where the service works.
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${PROJECT_SOURCE_DIR}/conf/faxgw.toml)
file(READ ${PROJECT_SOURCE_DIR}/conf/faxgw.toml FAXGW_SAMPLE)
string(FIND "${FAXGW_SAMPLE}" "[paths]\n" FAXGW_PATHS_AT)
string(FIND "${FAXGW_SAMPLE}" "\nvar = \"var\"\n" FAXGW_VAR_AT)
if(FAXGW_PATHS_AT LESS 0 OR FAXGW_VAR_AT LESS FAXGW_PATHS_AT)
  message(FATAL_ERROR "conf/faxgw.toml has no [paths] var = \"var\" to set for the installed configuration")
endif()
string(SUBSTRING "${FAXGW_SAMPLE}" 0 ${FAXGW_VAR_AT} FAXGW_BEFORE)
math(EXPR FAXGW_AFTER_AT "${FAXGW_VAR_AT} + 13")
string(SUBSTRING "${FAXGW_SAMPLE}" ${FAXGW_AFTER_AT} -1 FAXGW_AFTER)
file(GENERATE OUTPUT ${PROJECT_BINARY_DIR}/conf/faxgw.toml
     CONTENT "${FAXGW_BEFORE}\nvar = \"/var/lib/faxgw\"\n${FAXGW_AFTER}")

# /etc for the prefixes /usr and /, as GNUInstallDirs has it. Decided when
# installing, since `cmake --install --prefix` may name another prefix than
# the one configured. Mode 0640: the package gives it to group faxgw.
install(CODE "set(faxgw_config \"${PROJECT_BINARY_DIR}/conf/faxgw.toml\")
set(faxgw_sysconfdir \"${CMAKE_INSTALL_SYSCONFDIR}\")")
install(CODE [[
  if(IS_ABSOLUTE "${faxgw_sysconfdir}")
    set(faxgw_etc "${faxgw_sysconfdir}/faxgw")
  elseif(CMAKE_INSTALL_PREFIX MATCHES "^/(usr/?)?$" AND faxgw_sysconfdir STREQUAL "etc")
    set(faxgw_etc "/etc/faxgw")
  else()
    set(faxgw_etc "${CMAKE_INSTALL_PREFIX}/${faxgw_sysconfdir}/faxgw")
  endif()
  file(INSTALL "${faxgw_config}" DESTINATION "${faxgw_etc}"
       PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ)
]])

# make package: a .deb of the install above, prefix /usr.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME faxgw)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "email-to-fax and fax-to-email gateway")
set(CPACK_PACKAGE_DESCRIPTION "faxgw turns mails into faxes and received faxes into mails. \
Postfix or Sendmail hand it mails through a pipe transport or a milter, or it polls IMAP \
mailboxes. It renders documents into fax pages in a sandbox and sends them over SIP \
(T.38 or G.711) or through Asterisk.")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "faxgw developers <faxgw@localhost>")
set(CPACK_DEBIAN_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # faxgw_<version>_<arch>.deb
# The prefix is given when installing (DESTDIR), so that the /etc rule
# above sees /usr.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
# The shared libraries' packages come from dpkg-shlibdeps. The packages
# below are the programs and data faxgw uses at run time:
#  - bubblewrap: the renderers' sandbox (without it documents wait);
#  - ghostscript: PostScript and EPS;
#  - libtiff-tools: tiff2pdf, received faxes as PDF;
#  - fonts-dejavu-core: the text renderer's font;
#  - adduser: the maintainer scripts.
# Recommended: WeasyPrint for HTML mails, LibreOffice for Office documents
# (without them such attachments wait, named in the log), CJK fonts, WebP
# pictures, and an MTA to hand mails over.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser, bubblewrap, ghostscript, libtiff-tools, fonts-dejavu-core")
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS
  "weasyprint, libreoffice-writer-nogui, libreoffice-calc-nogui, libreoffice-impress-nogui, fonts-noto-cjk, webp-pixbuf-loader, postfix | mail-transport-agent")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
  ${PROJECT_SOURCE_DIR}/conf/debian/conffiles ${PROJECT_SOURCE_DIR}/conf/debian/postinst
  ${PROJECT_SOURCE_DIR}/conf/debian/prerm ${PROJECT_SOURCE_DIR}/conf/debian/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
