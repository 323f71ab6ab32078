package emulator_test

import (
	"strconv"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"

	"github.com/iot-emulator/iot-emulator/emulator"
)

type emulatorConfig = emulator.Config

func requestsInteger(n int64) requests.Integer { return requests.NewInteger64(n) }

func requestsIntegerString(s string) requests.Integer { return requests.Integer(s) }

var _ = strconv.Itoa
