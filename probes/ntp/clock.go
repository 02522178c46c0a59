package ntp
