// IOT_ENDPOINT as every example reads it: "host:port" (what the Go SDK's
// Domain takes, and what docker-compose sets) or a URL; both give a URL.
// IOT_MQTT likewise: "host:port" or an mqtt:// / mqtts:// URL.
function url(value, scheme) {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `${scheme}://${value}`;
}

exports.endpoint = url(process.env.IOT_ENDPOINT || '127.0.0.1:8080', 'http');
exports.mqttUrl = url(process.env.IOT_MQTT || '127.0.0.1:1883', 'mqtt');
