//! A borsh codec with a length prefix that is checked before anything is allocated.

use crate::sync::{SyncRequest, SyncResponse};
use borsh::{BorshDeserialize, BorshSerialize};
use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::request_response::Codec;
use libp2p::StreamProtocol;
use std::io;

const MAX_REQUEST_BYTES: u32 = 1024;
/// 128 blocks of up to a few hundred KiB each fit; a peer cannot make us allocate more.
pub const MAX_RESPONSE_BYTES: u32 = 64 * 1024 * 1024;

#[derive(Debug, Clone, Default)]
pub struct SyncCodec;

async fn read_framed<T: BorshDeserialize, R: AsyncRead + Unpin + Send>(
    io: &mut R,
    max: u32,
) -> io::Result<T> {
    let mut len = [0u8; 4];
    io.read_exact(&mut len).await?;
    let len = u32::from_le_bytes(len);
    if len > max {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("message of {len} bytes exceeds the limit of {max}"),
        ));
    }
    let mut buf = vec![0u8; len as usize];
    io.read_exact(&mut buf).await?;
    T::try_from_slice(&buf).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

async fn write_framed<T: BorshSerialize, W: AsyncWrite + Unpin + Send>(
    io: &mut W,
    value: &T,
    max: u32,
) -> io::Result<()> {
    let bytes = borsh::to_vec(value)?;
    if bytes.len() > max as usize {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "message of {} bytes exceeds the limit of {max}",
                bytes.len()
            ),
        ));
    }
    io.write_all(&(bytes.len() as u32).to_le_bytes()).await?;
    io.write_all(&bytes).await?;
    io.close().await
}

impl Codec for SyncCodec {
    type Protocol = StreamProtocol;
    type Request = SyncRequest;
    type Response = SyncResponse;

    async fn read_request<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<SyncRequest> {
        read_framed(io, MAX_REQUEST_BYTES).await
    }

    async fn read_response<T: AsyncRead + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
    ) -> io::Result<SyncResponse> {
        read_framed(io, MAX_RESPONSE_BYTES).await
    }

    async fn write_request<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        req: SyncRequest,
    ) -> io::Result<()> {
        write_framed(io, &req, MAX_REQUEST_BYTES).await
    }

    async fn write_response<T: AsyncWrite + Unpin + Send>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: SyncResponse,
    ) -> io::Result<()> {
        write_framed(io, &res, MAX_RESPONSE_BYTES).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::io::Cursor;

    #[test]
    fn an_oversized_length_is_refused_before_allocating() {
        futures::executor::block_on(async {
            let mut bytes = u32::MAX.to_le_bytes().to_vec();
            bytes.extend([0u8; 8]);
            let err = SyncCodec
                .read_response(&StreamProtocol::new("/t/sync/1"), &mut Cursor::new(bytes))
                .await
                .unwrap_err();
            assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        });
    }

    #[test]
    fn a_request_round_trips() {
        futures::executor::block_on(async {
            let p = StreamProtocol::new("/t/sync/1");
            let mut buf = Cursor::new(Vec::new());
            let req = SyncRequest::Blocks { from: 7, count: 3 };
            SyncCodec
                .write_request(&p, &mut buf, req.clone())
                .await
                .unwrap();
            let back = SyncCodec
                .read_request(&p, &mut Cursor::new(buf.into_inner()))
                .await
                .unwrap();
            assert_eq!(back, req);
        });
    }
}
