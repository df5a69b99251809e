//! Payload builders for the protocols edgetap dissects. Every function returns the bytes of one
//! application PDU (or, for AMQP publish, the usual group of frames) ready to hand to
//! [`crate::TcpConv::send`] / [`crate::UdpConv::send`].

pub mod amqp;
pub mod bacnet;
pub mod dhcp;
pub mod dns;
pub mod icmp;
pub mod modbus;
pub mod mqtt;
pub mod opcua;

/// Well-known ports.
pub mod ports {
    pub const MODBUS: u16 = 502;
    pub const MQTT: u16 = 1883;
    pub const BACNET: u16 = 47808;
    pub const OPCUA: u16 = 4840;
    pub const AMQP: u16 = 5672;
    pub const DNS: u16 = 53;
    pub const DHCP_SERVER: u16 = 67;
    pub const DHCP_CLIENT: u16 = 68;
}
