//! Tests of sniffing, probing and thumbnails on media made by the system ffmpeg.
